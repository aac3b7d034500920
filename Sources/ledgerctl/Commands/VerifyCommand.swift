import ArgumentParser
import Ledger

/// `ledgerctl verify [--export FILE]`.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recompute the whole hash chain and report the first bad seq.",
        discussion: """
            Without --export, verifies the ledger's log: every event's hash recomputed from its
            stored bytes, every link to the previous event, no gaps, and the recorded head.
            With --export FILE, verifies an export file alone: no ledger and no key needed.
            Exits 0 when the chain verifies, 1 when it does not.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("An export file to verify instead of the ledger.", valueName: "file"))
    var export: String?

    func run() throws {
        try runReporting(json: global.json) {
            let report = try export.map { try ExportVerifier.verify(path: $0) } ?? global.openLedger().verify()
            if global.json {
                Output.line(report.json.serialized)
            } else if let failure = report.failure {
                Output.line("FAILED at seq \(failure.seq): \(failure.reason)")
                Output.line("\(report.events) events before it verify.")
            } else {
                Output.line("OK: \(report.events) events verify; head seq \(report.headSeq) hash \(report.headHash)")
            }
            if !report.isValid { throw CommandFailure(exitCode: 1) }
        }
    }
}
