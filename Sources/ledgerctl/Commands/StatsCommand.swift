import ArgumentParser
import Foundation
import Ledger
import Projections

/// `ledgerctl stats`.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Counts and sizes: events, subjects, erasures, open and overdue requests, files, map use."
    )

    @OptionGroup var global: GlobalOptions

    func run() throws {
        try runReporting(json: global.json) {
            let ledger = try global.openLedger()
            let now = SystemClock().now()
            let head = try ledger.head()
            let projection = try ledger.projection(asOf: now)
            let stats = try ledger.statistics()
            let open = projection.requests(at: now, filter: .open).count
            let overdue = projection.requests(at: now, filter: .overdue).count
            let files = ["events/data.mdb", "keys/data.mdb"].map { name -> (String, Int) in
                let size =
                    (try? FileManager.default.attributesOfItem(atPath: global.directory + "/" + name)[.size] as? Int)
                    ?? 0
                return (name, size)
            }
            if global.json {
                Output.line(
                    JSONValue.object([
                        ("events", .int(Int64(head.seq))), ("subjects", .int(Int64(stats.liveSubjects))),
                        ("erasedSubjects", .int(Int64(stats.erasedSubjects))), ("openRequests", .int(Int64(open))),
                        ("overdueRequests", .int(Int64(overdue))), ("snapshots", .int(Int64(stats.snapshots))),
                        ("snapshotDeltas", .int(Int64(stats.snapshotDeltas))),
                        ("files", .object(files.map { ($0.0, .int(Int64($0.1))) })),
                        ("mapSize", .int(Int64(stats.mapSize))), ("mapUsed", .int(Int64(stats.mapUsed))),
                    ]).serialized
                )
                return
            }
            Output.line(
                Output.table(
                    ["WHAT", "VALUE"],
                    [
                        ["events", String(head.seq)], ["subjects (live)", String(stats.liveSubjects)],
                        ["subjects erased", String(stats.erasedSubjects)], ["requests open", String(open)],
                        ["requests overdue", String(overdue)],
                        ["projection snapshots", "\(stats.snapshots) (\(stats.snapshotDeltas) stored as deltas)"],
                    ] + files.map { ["file \($0.0)", "\($0.1) bytes"] } + [
                        ["events map", "\(stats.mapUsed) of \(stats.mapSize) bytes used"]
                    ]
                )
            )
        }
    }
}
