import ArgumentParser
import Ledger

extension EventType: ExpressibleByArgument {}

/// `ledgerctl log [--after SEQ] [--limit N] [--type T]`.
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "List events without personal data: seq, time, type, pseudonym, purpose, actor.",
        discussion: "With --json, one export record per line (pseudonyms and ciphertext only)."
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "Only events with a greater seq.") var after: UInt64 = 0
    @Option(name: .long, help: "At most this many events (at least 1).") var limit = 100
    @Option(name: .long, help: "Only events of this type.") var type: EventType?

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        try runReporting(json: global.json) {
            let ledger = try global.openLedger(checkingPages: true)
            var rows: [[String]] = []
            var out = BufferedOutput()
            var listed = 0
            try ledger.forEachEvent(after: after) { event in
                guard listed < limit else { return false }
                guard type == nil || event.type == type else { return true }
                listed += 1
                if global.json {
                    out.write(event.exportRecord.serialized)
                } else {
                    rows.append([
                        String(event.seq), event.recordedAt.rfc3339, event.type.rawValue, event.subject,
                        event.purpose.isEmpty ? "-" : event.purpose, event.actor,
                    ])
                }
                return true
            }
            out.flush()
            if !global.json {
                Output.line(Output.table(["SEQ", "RECORDED", "TYPE", "PSEUDONYM", "PURPOSE", "ACTOR"], rows))
            }
        }
    }
}
