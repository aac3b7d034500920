import ArgumentParser
import Ledger

/// `ledgerctl export [--after SEQ]`.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the log as NDJSON export records (SPEC §4) to standard output.",
        discussion: """
            Every record carries the pseudonym, never the external id, and the payload as \
            ciphertext: an export verifies with `ledgerctl verify --export FILE` on any machine, \
            with no ledger and no key.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Only events with a greater seq.") var after: UInt64 = 0

    func run() throws {
        try runReporting(json: global.json) {
            let ledger = try global.openLedger(checkingPages: true)
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
}
