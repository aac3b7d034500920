import Foundation
import Ledger

/// The outcome of `ledgerctl rebuild`: every structure derived from the log (the event-id and
/// subject indexes, the Merkle nodes, every projection) recomputed and compared with the stored one.
public struct RebuildReport: Sendable, Equatable {
    /// Events folded.
    public var events: UInt64
    /// Stored snapshots compared, byte for byte.
    public var snapshotsCompared: Int
    /// Request records compared, field by field.
    public var requestsCompared: Int
    /// The first difference found, if any.
    public var difference: String?
    /// Which structure the first difference is in: a stable code (``DerivedStateMismatch/Code``).
    public var code: DerivedStateMismatch.Code?

    /// Whether every stored projection equals the refold.
    public var matches: Bool { difference == nil }

    /// `{"ok","events","snapshots","requests"(,"code","difference")}`.
    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("ok", .bool(matches)), ("events", .int(Int64(events))), ("snapshots", .int(Int64(snapshotsCompared))),
            ("requests", .int(Int64(requestsCompared))),
        ]
        if let code { pairs.append(("code", .string(code.rawValue))) }
        if let difference { pairs.append(("difference", .string(difference))) }
        return .object(pairs)
    }
}

extension Ledger {
    /// Recomputes everything derived from the log (SPEC §5 `rebuild`) and compares it with
    /// everything readers rely on: the event-id index, the per-subject index and the stored
    /// Merkle nodes (``Ledger/derivedIndexMismatch()``), each stored snapshot (its manifest, its chunks against the
    /// manifest, its decoding, and byte for byte against the refold), no snapshot beyond the
    /// head, and every request record the append path keeps (decodable, and field by field).
    ///
    /// The indexes are compared on another core while the log is folded, and the stored
    /// snapshots on a third thread, in seq order, each against the subjects touched since the
    /// one before (``SnapshotComparison``), so no comparison encodes the whole refold. The
    /// outcome is the one the checks give in the order above.
    /// - Parameter progress: Called now and then with the number of events folded.
    public func rebuildProjections(progress: ((UInt64) -> Void)? = nil) throws -> RebuildReport {
        let rules = try projectionRules()
        let allSnapshots = try snapshotSeqs()
        var pendingSnapshots = allSnapshots[...]
        var projection = LedgerProjection()
        var report = RebuildReport(events: 0, snapshotsCompared: 0, requestsCompared: 0, difference: nil)
        let ledger = self
        // The indexes are compared on another core while the fold goes on; their outcome comes
        // first, as if they had been compared before the fold.
        let indexes = Locked<Result<DerivedStateMismatch?, any Error>?>(nil)
        let indexCheck = DispatchGroup()
        DispatchQueue.global().async(group: indexCheck) {
            let outcome = Result { try ledger.derivedIndexMismatch() }
            indexes.withLock { $0 = outcome }
        }
        // What request records hold beyond the projection: the opening seq and any extension.
        var openSeqs: [String: UInt64] = [:]
        var extended: Set<String> = []
        // Stored snapshots are compared, in seq order, on another core while the fold goes on:
        // each with the subjects touched since the one before (``SnapshotComparison``).
        let comparison = Locked(SnapshotComparison())
        // The first snapshot that differs: its seq, and what was wrong or the bytes it holds.
        let firstDifference = Locked<(seq: UInt64, problem: String?, stored: [UInt8])?>(nil)
        // The last snapshot read that is stored whole: the deltas after it are made from it.
        let lastWhole = Locked<(seq: UInt64, bytes: [UInt8])?>(nil)
        let comparisons = DispatchGroup()
        let comparer = DispatchQueue(label: "rebuild.snapshots")
        var touched: Set<Pseudonym> = []
        var capturedAny = false
        let folded = Result {
            try forEachSummary { event in
                projection.apply(event, rules: rules)
                touched.insert(event.subject)
                if event.type.opensRequest != nil { openSeqs[event.eventId] = event.seq }
                if event.type == .requestExtended, event.expiresAt != nil { extended.insert(event.requestId) }
                report.events = event.seq
                if event.seq % 65_536 == 0 { progress?(event.seq) }
                guard let next = pendingSnapshots.first, next == event.seq else { return }
                pendingSnapshots.removeFirst()
                report.snapshotsCompared += 1
                var changed: [Pseudonym: SubjectProjection]
                if capturedAny {
                    changed = Dictionary(minimumCapacity: touched.count)
                    for id in touched { changed[id] = projection.subjects[id] }
                } else {
                    changed = projection.subjects
                }
                capturedAny = true
                touched.removeAll(keepingCapacity: true)
                let capture = SnapshotComparison.Capture(
                    seq: event.seq,
                    subjectCount: projection.subjects.count,
                    touched: changed,
                    requests: projection.requests
                )
                comparer.async(group: comparisons) {
                    guard firstDifference.withLock({ $0 == nil }) else { return }
                    let seq = capture.seq
                    let stored: [UInt8]
                    do {
                        guard let read = try ledger.storedSnapshot(at: seq, knownBase: lastWhole.withLock { $0 }) else {
                            firstDifference.withLock {
                                $0 = (seq, "the snapshot at seq \(seq) disappeared during the rebuild", [])
                            }
                            return
                        }
                        stored = read.bytes
                        if read.isWhole { lastWhole.withLock { $0 = (seq, read.bytes) } }
                    } catch let error as LedgerError {
                        firstDifference.withLock { $0 = (seq, error.message, []) }
                        return
                    } catch {
                        firstDifference.withLock { $0 = (seq, "the snapshot at seq \(seq) cannot be read", []) }
                        return
                    }
                    if !comparison.withLock({ $0.matches(stored, capture) }) {
                        firstDifference.withLock { $0 = (seq, nil, stored) }
                    }
                }
            }
        }
        indexCheck.wait()
        if let mismatch = try indexes.withLock({ $0 })?.get() {
            comparisons.wait()
            report.events = try head().seq
            report.difference = mismatch.message
            report.code = mismatch.code
            return report
        }
        try folded.get()
        comparisons.wait()
        if let first = firstDifference.withLock({ $0 }) {
            report.difference =
                try first.problem ?? describeDifference(stored: first.stored, at: first.seq, rules: rules)
            report.code = .snapshotMismatch
            return report
        }
        if let beyond = pendingSnapshots.first {
            report.difference = "a snapshot is stored at seq \(beyond), beyond the head (seq \(report.events))"
            report.code = .snapshotMismatch
            return report
        }
        let stored = try storedRequestsForCheck()
        for id in Set(stored.keys).union(projection.requests.keys).sorted() {
            report.requestsCompared += 1
            guard let found = stored[id] else {
                report.difference = "request \(id): the log opens it but no request record is stored"
                break
            }
            guard let record = found else {
                report.difference = "request \(id): the stored record cannot be decoded"
                break
            }
            guard let rebuilt = projection.requests[id] else {
                report.difference = "request \(id): a request record is stored that no event of the log opens"
                break
            }
            let same =
                record.kind == rebuilt.kind && record.pseudonym == rebuilt.pseudonym
                && record.openedAt == rebuilt.openedAt && record.dueAt == rebuilt.dueAt
                && record.status == rebuilt.status.rawValue && record.closedAt == rebuilt.closedAt
                && record.openSeq == openSeqs[id]
                && record.originalDueAt == rebuilt.openedAt.adding(days: rules.requestDeadlineDays)
                && record.extended == extended.contains(id)
            if !same {
                report.difference = "request \(id): the stored record differs from the one the log gives"
                break
            }
        }
        if report.difference != nil { report.code = .requestMismatch }
        return report
    }

    /// Writes every derived record again from the log and checks the result (`rebuild
    /// --repair`): writes the event-id index, the per-subject index and the Merkle nodes again
    /// (``Ledger/rederiveIndexes()``), deletes every projection snapshot and writes them again by
    /// folding the log, and writes every request record again from the log's request events. The
    /// log itself is never touched. Run it with no server on the ledger.
    /// - Returns: The rebuild report of the repaired ledger, how many snapshots and request
    ///   records were written, and how many events were indexed again.
    public func repairProjections(
        progress: ((UInt64) -> Void)? = nil
    ) throws
        -> (report: RebuildReport, snapshots: Int, requests: Int, indexed: Int)
    {
        let indexed = try rederiveIndexes()
        try removeAllSnapshots()
        let requests = try rederiveRequestRecords()
        let snapshots = try SnapshotCatchUp.run(self)
        return (try rebuildProjections(progress: progress), snapshots, requests, indexed)
    }

    /// Names what differs in the snapshot `stored` at `seq`: folds the log again up to `seq` (only
    /// when a snapshot differs) and compares the two subject by subject.
    private func describeDifference(stored: [UInt8], at seq: UInt64, rules: ProjectionRules) throws -> String {
        var rebuilt = LedgerProjection()
        try forEachSummary(through: seq) { rebuilt.apply($0, rules: rules) }
        return Self.describeDifference(stored: LedgerProjection(snapshot: stored), rebuilt: rebuilt, at: seq)
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
