/// The chain rule of SPEC §4, written once. Fed events in seq order, it checks, for each, in this
/// order:
///
/// 1. its seq is the next one (no gap, no repeat, no reordering; from 1);
/// 2. its record is well formed (stored bytes: the whole body; decoded events: by construction);
/// 3. its hash, recomputed by ``ChainHash``, is the one it carries;
/// 4. its `prevHash` is the hash of the event before it (32 zero bytes for seq 1);
/// 5. its `recordedAt` is not earlier than the one before it (SPEC §3),
///
/// and adds its leaf to the RFC 9162 tree (``MerkleAccumulator``). It stops at the first failure,
/// which carries a stable ``VerificationReport/Failure/Code``; after it, ``headSeq``,
/// ``headHash`` and ``merkleRoot`` describe the events that verified.
///
/// Checking a stored record allocates nothing: the stored bytes are hashed in place
/// (``ChainHash/digest(body:)``) and hashes are kept and compared as ``InlineHash`` values.
///
/// Every verifier of the product runs on it: `ledgerctl verify` (``Ledger/verify(progress:)``, in
/// segments joined with ``join(_:)``), `verify --export` (``ExportVerifier``), `replay`
/// (`Replayer.step(verifying:)`) and `verify --checkpoint --full` (``CheckpointVerifier``).
public struct ChainVerifier: Sendable {
    /// The seq the next event must carry.
    public private(set) var expectedSeq: UInt64
    /// How many events verified.
    public private(set) var count: UInt64 = 0
    /// The hash of the last event that verified (the starting hash before any; empty for a
    /// segment before its first event).
    public var headHash: [UInt8] { head?.bytes ?? [] }
    /// ``headHash`` held inline; `nil` for a segment before its first event.
    private var head: InlineHash?
    /// The `recordedAt` (milliseconds) of the last event that verified; `nil` before any, or at
    /// the start of a segment.
    private var lastRecordedAt: Int64?
    /// Whether the link to the event before the first is unknown (a segment of a parallel run).
    private let startsUnlinked: Bool
    /// The first event's `prevHash` (`nil` when it is not 32 bytes) and `recordedAt`, for
    /// ``join(_:)``; set only by a segment verifier.
    private var firstLink: (prevHash: InlineHash?, recordedAt: Int64)?
    /// The tree of the verified events; only for a run from seq 1.
    private var tree: MerkleAccumulator?
    /// The first failure; once set, nothing more is accepted.
    public private(set) var failure: VerificationReport.Failure?

    /// A verifier expecting seq 1 after the genesis hash, growing the Merkle tree.
    public init() {
        expectedSeq = 1
        head = InlineHash(ChainHash.genesis)
        startsUnlinked = false
        tree = MerkleAccumulator()
    }

    /// A verifier of the segment that starts at `seq`, whose predecessor is checked later, by
    /// ``join(_:)``: its first event's link and time are recorded, not checked. Grows no tree.
    init(segmentFrom seq: UInt64) {
        expectedSeq = seq
        head = nil
        startsUnlinked = true
        tree = nil
    }

    /// The seq of the last event that verified (the one before ``expectedSeq``).
    public var headSeq: UInt64 { expectedSeq - 1 }

    /// The RFC 9162 root of the events that verified; `nil` for a segment verifier.
    public var merkleRoot: [UInt8]? { tree?.root }

    // MARK: Feeding events

    /// Checks the next event as decoded (its hash recomputed from its fields).
    /// - Returns: The failure, or `nil` when it verifies.
    @discardableResult
    public mutating func check(_ event: StoredEvent) -> VerificationReport.Failure? {
        if let failure { return failure }
        if let failure = seqFailure(event.seq) { return fail(failure) }
        let recomputed = ChainHash.digest(body: event.body)
        return accept(
            seq: event.seq,
            hashVerifies: InlineHash(event.hash) == recomputed,
            prevHash: InlineHash(event.prevHash),
            hash: recomputed,
            recordedAt: event.recordedAt.milliseconds
        )
    }

    /// Checks the next log record, `hash(32) ‖ body` as stored under `key`, hashing the stored
    /// bytes in place, without decoding them into an event or copying them.
    /// - Returns: The failure, or `nil` when it verifies.
    @discardableResult
    public mutating func check(record: UnsafeRawBufferPointer, key: UInt64) -> VerificationReport.Failure? {
        if let failure { return failure }
        if let failure = seqFailure(key) { return fail(failure) }
        guard record.count >= 72 else {
            return fail(.init(seq: key, code: .recordMalformed, reason: "the record is truncated"))
        }
        let storedSeq = UInt64(bigEndian: record.loadUnaligned(fromByteOffset: 64, as: UInt64.self))
        guard storedSeq == key else {
            return fail(
                .init(seq: key, code: .seqOutOfOrder, reason: "the record holds seq \(storedSeq) under key \(key)")
            )
        }
        let body = UnsafeRawBufferPointer(rebasing: record[32...])
        guard let recordedAt = Self.recordedAt(ofBody: body) else {
            return fail(.init(seq: key, code: .recordMalformed, reason: "the record is malformed"))
        }
        let hash = InlineHash(record)
        return accept(
            seq: key,
            hashVerifies: ChainHash.digest(body: body) == hash,
            prevHash: InlineHash(body),
            hash: hash,
            recordedAt: recordedAt
        )
    }

    /// Records that the input ended where the event `expectedSeq` should have been, when `last`
    /// (the seq the input should end at) says one more was due.
    /// - Returns: The failure, or `nil` when nothing is missing.
    @discardableResult
    public mutating func finish(through last: UInt64) -> VerificationReport.Failure? {
        if let failure { return failure }
        guard expectedSeq <= last else { return nil }
        return fail(.init(seq: expectedSeq, code: .seqGap, reason: "seq \(expectedSeq) is missing from the log"))
    }

    /// Records a failure found outside the chain rule (an unreadable record, an export line
    /// that is not a record), so that ``failure`` is the first of either.
    public mutating func record(_ failure: VerificationReport.Failure) {
        if self.failure == nil { self.failure = failure }
    }

    /// Appends the segment verified after this one (``init(segmentFrom:)``): checks the link
    /// from this verifier's last event to the segment's first, then takes on the segment's head.
    /// - Returns: The first failure of the two, or `nil` when the joined run verifies.
    @discardableResult
    mutating func join(_ next: ChainVerifier) -> VerificationReport.Failure? {
        if let failure { return failure }
        let start = next.expectedSeq - next.count
        guard start == expectedSeq else {
            return fail(.init(seq: expectedSeq, code: .seqGap, reason: "seq \(expectedSeq) is missing from the log"))
        }
        // The segment's first event verified on its own: check what it could not.
        if next.count > 0, let link = next.firstLink {
            if let failure = linkFailure(seq: start, prevHash: link.prevHash, recordedAt: link.recordedAt) {
                return fail(failure)
            }
        }
        count += next.count
        expectedSeq = next.expectedSeq
        if next.count > 0 {
            head = next.head
            lastRecordedAt = next.lastRecordedAt
            // A segment grows no tree: the joined run has no root to report.
            tree = nil
        }
        if let failure = next.failure { return fail(failure) }
        return nil
    }

    /// Checks an event on its own, out of any chain (a proof bundle's events): rule 3 only.
    /// - Returns: The failure, or `nil` when its hash is the one its fields give.
    public static func failure(ofStandalone event: StoredEvent) -> VerificationReport.Failure? {
        guard event.recomputedHash == event.hash else {
            return .init(seq: event.seq, code: .hashMismatch, reason: "the hash does not match the event's contents")
        }
        return nil
    }

    // MARK: The rule

    private func seqFailure(_ seq: UInt64) -> VerificationReport.Failure? {
        if seq == expectedSeq { return nil }
        if seq > expectedSeq {
            return .init(
                seq: expectedSeq,
                code: .seqGap,
                reason: "expected seq \(expectedSeq) here, found \(seq): an event is missing or reordered"
            )
        }
        return .init(
            seq: expectedSeq,
            code: .seqOutOfOrder,
            reason: "expected seq \(expectedSeq) here, found \(seq): an event is repeated, reordered or renumbered"
        )
    }

    /// Checks 4 and 5 of the rule against the last verified event; a `prevHash` of `nil` (not
    /// 32 bytes) links to nothing.
    private func linkFailure(
        seq: UInt64,
        prevHash: InlineHash?,
        recordedAt: Int64
    ) -> VerificationReport.Failure? {
        guard let prevHash, prevHash == head else {
            return .init(
                seq: seq,
                code: .prevHashMismatch,
                reason: "prevHash does not match the hash of seq \(seq - 1)"
            )
        }
        if let last = lastRecordedAt, recordedAt < last {
            return .init(
                seq: seq,
                code: .recordedAtDecreased,
                reason: "recordedAt is earlier than that of seq \(seq - 1)"
            )
        }
        return nil
    }

    private mutating func accept(
        seq: UInt64,
        hashVerifies: Bool,
        prevHash: InlineHash?,
        hash: InlineHash,
        recordedAt: Int64
    ) -> VerificationReport.Failure? {
        guard hashVerifies else {
            return fail(.init(seq: seq, code: .hashMismatch, reason: "the hash does not match the event's contents"))
        }
        if startsUnlinked, count == 0 {
            firstLink = (prevHash, recordedAt)
        } else if let failure = linkFailure(seq: seq, prevHash: prevHash, recordedAt: recordedAt) {
            return fail(failure)
        }
        head = hash
        lastRecordedAt = recordedAt
        expectedSeq += 1
        count += 1
        tree?.append(eventHash: hash)
        return nil
    }

    private mutating func fail(_ failure: VerificationReport.Failure) -> VerificationReport.Failure {
        self.failure = failure
        return failure
    }

    /// The names of the event types as stored, for matching a record's type field in place.
    private static let typeNames: [[UInt8]] = EventType.allCases.map { Array($0.rawValue.utf8) }

    /// The `recordedAt` of a stored body (`prevHash ‖ seq ‖ …`, ``ChainHash/body``) when the
    /// body is exactly one event of a known type; `nil` when it is not.
    static func recordedAt(ofBody body: UnsafeRawBufferPointer) -> Int64? {
        var reader = ByteReader(body)
        guard reader.skip(count: 40), reader.skipLengthPrefixed(), let type = reader.skipField() else { return nil }
        let stored = UnsafeRawBufferPointer(rebasing: body[type])
        guard typeNames.contains(where: { $0.count == stored.count && $0.elementsEqual(stored) }) else { return nil }
        for _ in 0..<4 where !reader.skipLengthPrefixed() { return nil }
        guard reader.skip(count: 8), let recordedAt = reader.readI64(), reader.skip(count: 8),
            reader.skipLengthPrefixed(), reader.skipLengthPrefixed(), reader.isAtEnd
        else { return nil }
        return recordedAt
    }
}
