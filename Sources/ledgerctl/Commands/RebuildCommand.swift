import ArgumentParser
import Ledger
import LedgerServer
import Projections

/// `ledgerctl rebuild [--repair]`.
struct RebuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Recompute everything derived from the log and compare with the stored structures.",
        discussion: """
            Checks the event-id index, the per-subject index, the stored Merkle nodes, every \
            stored projection snapshot (manifest, chunks, contents) and every request record \
            against the log. Exits 1 and names the first difference with its code \
            (subject_index_mismatch, event_id_index_mismatch, merkle_node_mismatch, \
            snapshot_mismatch, request_mismatch). With --repair, first writes the indexes, the \
            Merkle nodes, every snapshot and every request record again from the log (the log \
            itself is never changed), then checks again: exit 0 when the repaired ledger \
            matches. Stop the server before --repair.

            The outcome (result, head, time, duration; codes only) is recorded in \
            <ledger>/integrity-status.json, which the dashboard's integrity page shows.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(
        name: .long,
        help: "Write every index, Merkle node, snapshot and request record again from the log, then check."
    )
    var repair = false

    func run() throws {
        try runReporting(json: global.json) {
            let progress = Progress(label: "rebuild")
            let recorder = IntegrityRecorder(.rebuild, directory: global.directory)
            let (report, repaired): (RebuildReport, (snapshots: Int, requests: Int, indexed: Int)?) =
                try recorder.recordingFailure {
                    let ledger = try global.openLedger(checkingPages: true)
                    guard repair else {
                        return (try ledger.rebuildProjections { progress.update($0) }, nil)
                    }
                    // No server may append or write snapshots while derived records are rewritten.
                    let guardian = try ServerGuard(
                        ledgerDirectory: global.directory,
                        socketPath: global.directory + "/ledger.sock"
                    )
                    let outcome = try withExtendedLifetime(guardian) {
                        try ledger.repairProjections { progress.update($0) }
                    }
                    return (outcome.report, (outcome.snapshots, outcome.requests, outcome.indexed))
                }
            progress.finish()
            recorder.record(
                ok: report.matches,
                code: report.code?.rawValue ?? (report.matches ? nil : "mismatch"),
                headSeq: report.events,
                repaired: repaired != nil
            )
            if global.json {
                var json = report.json
                if let repaired, case .object(var pairs) = json {
                    pairs.append(("repaired", .bool(true)))
                    pairs.append(("snapshotsWritten", .int(Int64(repaired.snapshots))))
                    pairs.append(("requestsWritten", .int(Int64(repaired.requests))))
                    pairs.append(("eventsIndexed", .int(Int64(repaired.indexed))))
                    json = .object(pairs)
                }
                Output.line(json.serialized)
            } else {
                if let repaired {
                    Output.line(
                        "Repaired: \(repaired.indexed) events indexed, \(repaired.snapshots) snapshots and \(repaired.requests) request records written again from the log."
                    )
                }
                if let difference = report.difference {
                    Output.line("MISMATCH (\(report.code?.rawValue ?? "mismatch")): \(difference)")
                    if repaired == nil {
                        Output.line(
                            "`ledgerctl rebuild --repair` writes every derived structure again from the log."
                        )
                    }
                } else {
                    Output.line(
                        "OK: \(report.events) events folded; \(report.snapshotsCompared) snapshots and \(report.requestsCompared) request records match"
                    )
                }
            }
            if !report.matches { throw CommandFailure(exitCode: 1) }
        }
    }
}
