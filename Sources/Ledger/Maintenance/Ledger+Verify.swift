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
        let outcomes = Locked<[Int: RangeOutcome]>([:])
        let checked = Locked<UInt64>(0)
        let countChecked: @Sendable (UInt64) -> Void = { count in
            let total = checked.withLock { value -> UInt64 in
                value += count
                return value
            }
            progress?(total)
        }
        DispatchQueue.concurrentPerform(iterations: ranges.count) { index in
            let outcome =
                (try? verifyRange(ranges[index], countChecked: countChecked))
                ?? RangeOutcome(
                    firstPrev: [],
                    lastHash: [],
                    failure: .init(seq: ranges[index].lowerBound, reason: "the log cannot be read here")
                )
            outcomes.withLock { $0[index] = outcome }
        }
        let results = outcomes.withLock { $0 }
        var previous = ChainHash.genesis
        for (index, range) in ranges.enumerated() {
            guard let outcome = results[index] else { continue }
            let firstRecordVerified = outcome.failure.map { $0.seq > range.lowerBound } ?? true
            if firstRecordVerified, outcome.firstPrev != previous {
                return report(
                    head,
                    failure: .init(
                        seq: range.lowerBound,
                        reason: "prevHash does not match the hash of seq \(range.lowerBound - 1)"
                    )
                )
            }
            if let failure = outcome.failure { return report(head, failure: failure) }
            previous = outcome.lastHash
        }
        guard previous == head.hash else {
            return report(
                head,
                failure: .init(seq: head.seq, reason: "the chain head record does not match the last event's hash")
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
                failure: .init(seq: extra, reason: "the log holds events after the recorded head")
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

    private struct RangeOutcome {
        var firstPrev: [UInt8]
        var lastHash: [UInt8]
        var failure: VerificationReport.Failure?
    }

    private func verifyRange(
        _ range: ClosedRange<UInt64>,
        countChecked: @Sendable (UInt64) -> Void
    ) throws -> RangeOutcome {
        try storage {
            try events.read { txn in
                var expected = range.lowerBound
                var outcome = RangeOutcome(firstPrev: [], lastHash: [], failure: nil)
                var previous: [UInt8] = []
                try txn.forEach(in: events.table(EventsSchema.log), from: EventsSchema.seqKey(range.lowerBound)) {
                    key,
                    value in
                    guard let seq = EventsSchema.seq(fromKey: key) else {
                        outcome.failure = .init(seq: expected, reason: "a log key is malformed")
                        return false
                    }
                    if seq > range.upperBound { return false }
                    guard seq == expected else {
                        outcome.failure = .init(seq: expected, reason: "seq \(expected) is missing from the log")
                        return false
                    }
                    if let failure = ChainCheck.check(
                        record: value,
                        seq: seq,
                        previousHash: seq == range.lowerBound ? nil : previous
                    ) {
                        outcome.failure = .init(seq: seq, reason: failure)
                        return false
                    }
                    if seq == range.lowerBound { outcome.firstPrev = Array(value[32..<64]) }
                    previous = Array(value[0..<32])
                    expected += 1
                    if (expected - range.lowerBound) % 65_536 == 0 { countChecked(65_536) }
                    return true
                }
                if outcome.failure == nil, expected <= range.upperBound {
                    outcome.failure = .init(seq: expected, reason: "seq \(expected) is missing from the log")
                }
                outcome.lastHash = previous
                return outcome
            }
        }
    }
}

/// The per-record check shared by ledger verification: the stored seq, the recomputed hash and
/// the link to the previous record.
enum ChainCheck {
    /// Returns why `record` (a `hash ‖ body` log value) fails, or `nil` when it verifies.
    static func check(record: UnsafeRawBufferPointer, seq: UInt64, previousHash: [UInt8]?) -> String? {
        guard record.count >= 72 else { return "the record is truncated" }
        var storedSeq: UInt64 = 0
        for byte in record[64..<72] { storedSeq = storedSeq << 8 | UInt64(byte) }
        guard storedSeq == seq else { return "the record holds seq \(storedSeq) under key \(seq)" }
        let body = UnsafeRawBufferPointer(rebasing: record[32...])
        guard ChainHash.hash(body: body).elementsEqual(record[0..<32]) else {
            return "the hash does not match the event's contents"
        }
        if let previousHash, !record[32..<64].elementsEqual(previousHash) {
            return "prevHash does not match the hash of seq \(seq - 1)"
        }
        return nil
    }
}
