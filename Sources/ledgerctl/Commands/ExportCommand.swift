import ArgumentParser
import Ledger

/// `ledgerctl export [--after SEQ]`, `ledgerctl export --tiles DIR [--tree-size N]`.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the log as NDJSON export records (SPEC §4) to standard output, or as static tiles.",
        discussion: """
            Every record carries the pseudonym, never the external id, and the payload as \
            ciphertext: an export verifies with `ledgerctl verify --export FILE` on any machine, \
            with no ledger and no key.

            With --tiles DIR, writes the tree of the first N events (--tree-size; default the \
            head) as a C2SP tlog-tiles log (https://c2sp.org/tlog-tiles) that any static file \
            server can publish: DIR/checkpoint (the signed note of that tree, as `checkpoint \
            --format note` prints it), hash tiles DIR/tile/<L>/<N>[.p/<W>], entry bundles \
            DIR/tile/entries/<N>[.p/<W>] — each entry the event's 32-byte hash, whose leaf is \
            SHA-256(0x00 ‖ entry) — and beside them DIR/records/<N>[.p/<W>], the same events' \
            export records, the bytes this command prints without the newline: pseudonyms and \
            ciphertext only, never an external id or plaintext; `ledgerctl verify --export` \
            recomputes each record's hash. An erasure changes no tile: \
            tiles of the same tree size are byte-identical before and after it. A DIR an earlier \
            export wrote is brought up to the new tree: full tiles there are checked and kept, \
            partial ones written; a DIR holding another log, a larger tree or a differing tile \
            is refused and left as it is. Files are written under temporary names and renamed, \
            the checkpoint last (docs/AUDITING.md, \
            "The log as static tiles").
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Only events with a greater seq.") var after: UInt64 = 0

    @Option(
        name: .long,
        help: ArgumentHelp("Write the log as C2SP tlog-tiles into this directory.", valueName: "dir")
    )
    var tiles: String?

    @Option(
        name: .customLong("tree-size"),
        help: ArgumentHelp("With --tiles: the tree of the first N events (default: the head).", valueName: "n")
    )
    var treeSize: UInt64?

    func validate() throws {
        guard treeSize == nil || tiles != nil else { throw ValidationError("--tree-size goes with --tiles") }
        guard tiles == nil || after == 0 else { throw ValidationError("--after does not go with --tiles") }
    }

    func run() throws {
        try runReporting(json: global.json) {
            let ledger = try global.openLedger(checkingPages: true)
            if let tiles {
                try exportTiles(of: ledger, to: tiles)
                return
            }
            let head = try ledger.head().seq
            let progress = Progress(label: "export", total: head > after ? head - after : 0)
            var out = BufferedOutput()
            try ledger.forEachEvent(after: after) { event in
                out.write(event.exportRecord.serialized)
                if event.seq % 16_384 == 0 { progress.update(event.seq - after) }
                return true
            }
            out.flush()
            progress.finish()
        }
    }

    private func exportTiles(of ledger: Ledger, to directory: String) throws {
        let size = try treeSize ?? ledger.head().seq
        let progress = Progress(label: "export", total: UInt64(LogTile.count(ofTreeOf: size)), unit: "tiles")
        defer { progress.finish() }
        let summary = try ledger.exportTiles(to: directory, treeSize: size) { progress.update(UInt64($0)) }
        if global.json {
            Output.line(summary.json.serialized)
        } else {
            Output.line(
                "The tree of \(summary.treeSize) events written to \(directory): \(summary.written) tiles written, "
                    + "\(summary.kept) full tiles already there kept."
            )
        }
    }
}
