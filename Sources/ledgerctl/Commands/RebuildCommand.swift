import ArgumentParser
import Ledger
import Projections

/// `ledgerctl rebuild`.
struct RebuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Recompute every projection from the log and compare with the stored ones.",
        discussion:
            "Exits 1 and names the first difference when a stored snapshot or request record disagrees with the log."
    )

    @OptionGroup var global: GlobalOptions

    func run() throws {
        try runReporting(json: global.json) {
            let progress = Progress(label: "rebuild")
            let report = try global.openLedger(checkingPages: true).rebuildProjections { progress.update($0) }
            progress.finish()
            if global.json {
                Output.line(report.json.serialized)
            } else if let difference = report.difference {
                Output.line("MISMATCH: \(difference)")
            } else {
                Output.line(
                    "OK: \(report.events) events folded; \(report.snapshotsCompared) snapshots and \(report.requestsCompared) request records match"
                )
            }
            if !report.matches { throw CommandFailure(exitCode: 1) }
        }
    }
}
