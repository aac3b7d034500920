import Foundation
import Ledger

/// The outcome of `ledgerctl rebuild`: every projection recomputed from the log and compared with
/// the stored one.
public struct RebuildReport: Sendable, Equatable {
    /// Events folded.
    public var events: UInt64
    /// Stored snapshots compared, byte for byte.
    public var snapshotsCompared: Int
    /// Request records compared, field by field.
    public var requestsCompared: Int
    /// The first difference found, if any.
    public var difference: String?

    /// Whether every stored projection equals the refold.
    public var matches: Bool { difference == nil }

    /// `{"ok","events","snapshots","requests"(,"difference")}`.
    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("ok", .bool(matches)), ("events", .int(Int64(events))), ("snapshots", .int(Int64(snapshotsCompared))),
            ("requests", .int(Int64(requestsCompared))),
        ]
        if let difference { pairs.append(("difference", .string(difference))) }
        return .object(pairs)
    }
}

extension Ledger {
    /// Recomputes every projection from the log (SPEC §5 `rebuild`) and compares: each stored
    /// snapshot byte for byte, and the request records the append path keeps.
    /// - Parameter progress: Called now and then with the number of events folded.
    public func rebuildProjections(progress: ((UInt64) -> Void)? = nil) throws -> RebuildReport {
        let rules = try projectionRules()
        var pendingSnapshots = try snapshotSeqs()[...]
        var projection = LedgerProjection()
        var report = RebuildReport(events: 0, snapshotsCompared: 0, requestsCompared: 0, difference: nil)
        // Stored snapshots are compared on the other core while the fold goes on: the projection
        // is a value, so each comparison works on its own copy.
        let differences = Locked<[UInt64: String]>([:])
        let comparisons = DispatchGroup()
        let ledger = self
        try forEachSummary { event in
            projection.apply(event, rules: rules)
            report.events = event.seq
            if event.seq % 65_536 == 0 { progress?(event.seq) }
            guard let next = pendingSnapshots.first, next == event.seq else { return }
            pendingSnapshots.removeFirst()
            report.snapshotsCompared += 1
            let rebuilt = projection
            let seq = event.seq
            DispatchQueue.global().async(group: comparisons) {
                let stored = (try? ledger.snapshot(atOrBefore: seq)).flatMap { $0 }
                guard let stored, stored.seq == seq else { return }
                if stored.bytes != rebuilt.snapshot {
                    let description = Self.describeDifference(
                        stored: LedgerProjection(snapshot: stored.bytes),
                        rebuilt: rebuilt,
                        at: seq
                    )
                    differences.withLock { $0[seq] = description }
                }
            }
        }
        comparisons.wait()
        if let first = differences.withLock({ $0 }).min(by: { $0.key < $1.key }) {
            report.difference = first.value
            return report
        }
        guard report.matches else { return report }
        let stored = try storedRequests()
        for id in Set(stored.keys).union(projection.requests.keys).sorted() {
            report.requestsCompared += 1
            let record = stored[id]
            let rebuilt = projection.requests[id]
            let same =
                record?.kind == rebuilt?.kind && record?.pseudonym == rebuilt?.pseudonym
                && record?.openedAt == rebuilt?.openedAt && record?.dueAt == rebuilt?.dueAt
                && record?.status == rebuilt?.status.rawValue && record?.closedAt == rebuilt?.closedAt
            if !same {
                report.difference = "request \(id): the stored record differs from the one the log gives"
                break
            }
        }
        return report
    }

    private static func describeDifference(
        stored: LedgerProjection?,
        rebuilt: LedgerProjection,
        at seq: UInt64
    ) -> String {
        guard let stored else { return "the snapshot at seq \(seq) cannot be decoded" }
        for id in Set(stored.subjects.keys).union(rebuilt.subjects.keys).sorted()
        where stored.subjects[id] != rebuilt.subjects[id] {
            return "the snapshot at seq \(seq) differs for subject \(id.hex)"
        }
        for id in Set(stored.requests.keys).union(rebuilt.requests.keys).sorted()
        where stored.requests[id] != rebuilt.requests[id] {
            return "the snapshot at seq \(seq) differs for request \(id)"
        }
        return "the snapshot at seq \(seq) differs from the one the log gives"
    }
}
