import Crypto
import Foundation

extension Ledger {
    /// Recomputes every event's hash from its stored bytes and checks every link, using every core:
    /// each event's hash depends only on its own stored bytes, so ranges verify independently and
    /// only their boundaries are joined in order. Then checks that every subject of the log still
    /// has its key or its erasure (``firstSubjectWithoutKey()``).
    /// - Returns: The report, naming the first bad seq when there is one.
    /// - Parameter progress: Called now and then, from any thread, with the events checked so far.
    public func verify(progress: (@Sendable (UInt64) -> Void)? = nil) throws -> VerificationReport {
        let head = try self.head()
        guard head.seq > 0 else {
            return VerificationReport(events: 0, headSeq: 0, headHash: Hex.encode(ChainHash.genesis), failure: nil)
        }
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, Int(head.seq / 4096) + 1))
        let span = (head.seq + UInt64(workers) - 1) / UInt64(workers)
        let ranges: [ClosedRange<UInt64>] = (0..<UInt64(workers)).compactMap { i in
            let low = i * span + 1
            return low <= head.seq ? low...min(head.seq, (i + 1) * span) : nil
        }
        let segments = Locked<[Int: ChainVerifier]>([:])
        let checked = Locked<UInt64>(0)
        let countChecked: @Sendable (UInt64) -> Void = { count in
            let total = checked.withLock { value -> UInt64 in
                value += count
                return value
            }
            progress?(total)
        }
        DispatchQueue.concurrentPerform(iterations: ranges.count) { index in
            let range = ranges[index]
            let segment: ChainVerifier
            do {
                segment = try verifySegment(range, countChecked: countChecked)
            } catch {
                var unreadable = ChainVerifier(segmentFrom: range.lowerBound)
                unreadable.record(
                    .init(seq: range.lowerBound, code: .unreadable, reason: "the log cannot be read here")
                )
                segment = unreadable
            }
            segments.withLock { $0[index] = segment }
        }
        let results = segments.withLock { $0 }
        // The segments joined in order: the same rule, across their boundaries.
        var chain = ChainVerifier()
        for index in ranges.indices {
            guard let segment = results[index] else { continue }
            if let failure = chain.join(segment) { return report(head, failure: failure) }
        }
        guard chain.headHash == head.hash else {
            return report(
                head,
                failure: .init(
                    seq: head.seq,
                    code: .headMismatch,
                    reason: "the chain head record does not match the last event's hash"
                )
            )
        }
        // Other processes may append while this runs: compare the log with the head recorded in
        // the same transaction, never with the head read when verification began.
        let extra = try storage {
            try events.read { txn -> UInt64? in
                let current = try readHead(in: txn).seq
                guard current < .max else { return nil }
                var found: UInt64?
                try txn.forEach(in: events.table(EventsSchema.log), from: EventsSchema.seqKey(current + 1)) { _, _ in
                    found = current + 1
                    return false
                }
                return found
            }
        }
        if let extra {
            return report(
                head,
                failure: .init(
                    seq: extra,
                    code: .eventsAfterHead,
                    reason: "the log holds events after the recorded head"
                )
            )
        }
        if let lost = try firstSubjectWithoutKey() {
            return VerificationReport(
                events: head.seq,
                headSeq: head.seq,
                headHash: Hex.encode(head.hash),
                failure: lost
            )
        }
        return report(head, failure: nil)
    }

    private func report(_ head: ChainHead, failure: VerificationReport.Failure?) -> VerificationReport {
        VerificationReport(
            events: failure.map { $0.seq - 1 } ?? head.seq,
            headSeq: head.seq,
            headHash: Hex.encode(head.hash),
            failure: failure
        )
    }

    /// Verifies the events of `range` with a segment verifier (its first link is checked when
    /// the segments are joined).
    private func verifySegment(
        _ range: ClosedRange<UInt64>,
        countChecked: @Sendable (UInt64) -> Void
    ) throws -> ChainVerifier {
        try storage {
            try events.read { txn in
                var chain = ChainVerifier(segmentFrom: range.lowerBound)
                try txn.forEach(in: events.table(EventsSchema.log), from: EventsSchema.seqKey(range.lowerBound)) {
                    key,
                    value in
                    guard let seq = EventsSchema.seq(fromKey: key) else {
                        chain.record(
                            .init(seq: chain.expectedSeq, code: .recordMalformed, reason: "a log key is malformed")
                        )
                        return false
                    }
                    if seq > range.upperBound { return false }
                    if chain.check(record: value, key: seq) != nil { return false }
                    if chain.count % 65_536 == 0 { countChecked(65_536) }
                    return true
                }
                chain.finish(through: range.upperBound)
                return chain
            }
        }
    }
}
