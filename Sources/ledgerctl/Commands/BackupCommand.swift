import ArgumentParser
import Foundation
import Ledger

/// `ledgerctl backup DIR [--include-master-key]`.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write a consistent copy of the ledger into a new or empty directory, while it is in use.",
        discussion: """
            Copies the events with LMDB's compacting copy, then the key store (its LMDB file \
            rebuilt from its live entries, its slots and index), and the signing key; the master key only with --include-master-key (keep it \
            elsewhere). Each copy is written under a temporary name and renamed once complete and \
            fsynced; backup-manifest.json (sizes and SHA-256 of every file) is written last. A \
            backup cut short keeps its BACKUP-INCOMPLETE marker and is refused as incomplete. \
            Restore: stop the server, move the backup directory where the ledger \
            was, put the master key back as <ledger>/master.key (mode 0600), run \
            `ledgerctl verify`. A backup keeps the keys of subjects erased after it was taken: \
            see docs/OPERATIONS.md on how long such backups may be kept.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("A new or empty directory.", valueName: "dir")) var target: String

    @Flag(name: .customLong("include-master-key"), help: "Copy the master key into the backup too.")
    var includeMasterKey = false

    func run() throws {
        try runReporting(json: global.json) {
            let ledger = try global.openLedger()
            let sizes = ["events", "keys"].map { Self.size(of: global.directory + "/\($0)/data.mdb") }
            let progress = Progress(label: "backup", total: UInt64(sizes.reduce(0, +)), unit: "bytes")
            // LMDB's copy reports nothing: watch the copy grow from another thread.
            let copying = Locked(true)
            let target = self.target
            let watcher = Thread {
                while copying.withLock({ $0 }) {
                    // Each copy is written under a temporary name and renamed when complete.
                    let copies = ["events", "keys"].flatMap { [target + "/\($0).partial", target + "/\($0)"] }
                    progress.update(UInt64(copies.map { Self.size(of: $0 + "/data.mdb") }.reduce(0, +)))
                    usleep(200_000)
                }
            }
            watcher.start()
            defer {
                copying.withLock { $0 = false }
                progress.finish()
            }
            try ledger.backup(to: target, includingMasterKey: includeMasterKey)
            let head = try ledger.head()
            if global.json {
                Output.line(
                    JSONValue.object([("backup", .string(target)), ("atLeastSeq", .int(Int64(head.seq)))]).serialized
                )
            } else {
                Output.line("Backup written to \(target) (the log had \(head.seq) events when it finished).")
            }
        }
    }

    private static func size(of path: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }
}
