import ArgumentParser
import Foundation
import Ledger
import LedgerServer
import Logging
import Projections

/// `ledgerctl import FILE`.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Append client events from an NDJSON file, atomically in chunks of 10,000 lines.",
        discussion: """
            Each line is one client event, as POST /v1/events takes it. Each chunk of up to 10,000 \
            lines is appended atomically; a refused line names its number, nothing of its chunk is \
            appended, and the chunks before it stay committed. Blank lines are skipped.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The NDJSON file, or - for standard input.", valueName: "file"))
    var file: String

    func run() throws {
        try runReporting(json: global.json) {
            // The snapshots are written beside the import, not inside its commits.
            var options = global.ledgerOptions
            options.observers = []
            let ledger = try Ledger(openingAt: global.directory, options: options)
            // A failure of the background writer is logged; a snapshot still missing at the end fails the command.
            var quietLogger = options.logger
            quietLogger.logLevel = .warning
            let catalogue = try ledger.catalogue()
            let actor = CallerIdentity.actor(catalogue: catalogue)
            let reader = try LineReader(path: file)
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? UInt64) ?? nil
            let progress = Progress(label: "import", total: size, unit: "bytes")
            defer { progress.finish() }
            let summary = try ledger.importWritingSnapshotsBeside(
                from: reader,
                actor: actor,
                catalogue: catalogue,
                logger: quietLogger
            ) { progress.update($0) }
            let (appended, replayed) = (summary.appended, summary.replayed)
            if global.json {
                Output.line(
                    JSONValue.object([("appended", .int(Int64(appended))), ("replayed", .int(Int64(replayed)))])
                        .serialized
                )
            } else {
                Output.line("Imported \(appended) events (\(replayed) already present)")
            }
        }
    }
}
