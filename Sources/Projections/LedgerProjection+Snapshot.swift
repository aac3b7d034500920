import Foundation
import Ledger

extension LedgerProjection {
    static let magic = Array("CLsn2".utf8)

    /// The snapshot encoding: deterministic (subjects, purposes and requests in sorted order), so a
    /// rebuild can compare it byte for byte. It is the header, then each subject's record in
    /// pseudonym order, then the requests: ``writeHeader(throughSeq:subjectCount:into:)``, ``write(subject:_:into:)`` and
    /// ``write(requests:into:)``, the pieces ``SnapshotComparison`` compares one by one.
    public var snapshot: [UInt8] {
        var w = ByteWriter(capacity: 64 + subjects.count * 64 + requests.count * 80)
        Self.writeHeader(throughSeq: throughSeq, subjectCount: subjects.count, into: &w)
        for id in subjects.keys.sorted() {
            guard let subject = subjects[id] else { continue }
            Self.write(subject: id, subject, into: &w)
        }
        Self.write(requests: requests, into: &w)
        return w.bytes
    }

    /// The snapshot's header: magic, ``throughSeq`` and the number of subjects.
    static func writeHeader(throughSeq: UInt64, subjectCount: Int, into w: inout ByteWriter) {
        w.write(magic)
        w.write(u64: throughSeq)
        w.write(u32: UInt32(subjectCount))
    }

    /// One subject's record of the snapshot: its pseudonym, its erasure, its decisions by purpose.
    static func write(subject id: Pseudonym, _ subject: SubjectProjection, into w: inout ByteWriter) {
        w.write(u64: id.high)
        w.write(u64: id.low)
        if let erasure = subject.erasure {
            w.write(u8: 1)
            w.write(u64: erasure.seq)
            w.write(i64: erasure.occurredAt.milliseconds)
        } else {
            w.write(u8: 0)
        }
        w.write(u32: UInt32(subject.consents.count))
        for purpose in subject.consents.keys.sorted() {
            guard let decision = subject.consents[purpose] else { continue }
            w.write(string: purpose)
            w.write(u8: decision.granted ? 1 : 0)
            w.write(i64: decision.occurredAt.milliseconds)
            w.write(u64: decision.seq)
            w.write(i64: decision.expiresAt?.milliseconds ?? Int64.min)
        }
    }

    /// The snapshot's last part: the number of requests, then each request's record by id.
    static func write(requests: [String: RequestProjection], into w: inout ByteWriter) {
        w.write(u32: UInt32(requests.count))
        for id in requests.keys.sorted() {
            guard let request = requests[id] else { continue }
            w.write(string: id)
            w.write(string: request.kind.rawValue)
            w.write(string: request.pseudonym)
            w.write(i64: request.openedAt.milliseconds)
            w.write(i64: request.dueAt.milliseconds)
            w.write(string: request.status.rawValue)
            w.write(i64: request.closedAt?.milliseconds ?? Int64.min)
        }
    }

    /// Decodes a snapshot; `nil` when the bytes are not one.
    public init?(snapshot bytes: [UInt8]) {
        let decoded: LedgerProjection? = bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            guard let (through, count) = Self.readHeader(&r) else { return nil }
            var projection = LedgerProjection()
            projection.throughSeq = through
            projection.subjects.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard let (id, subject) = Self.readSubject(&r) else { return nil }
                projection.subjects[id] = subject
            }
            guard let requests = Self.readRequests(&r), r.isAtEnd else { return nil }
            projection.requests = requests
            return projection
        }
        guard let decoded else { return nil }
        self = decoded
    }

    /// Reads the header ``writeHeader(throughSeq:subjectCount:into:)`` wrote: the seq and the
    /// number of subject records after it.
    static func readHeader(_ r: inout ByteReader) -> (throughSeq: UInt64, subjectCount: UInt32)? {
        guard r.read(count: Self.magic.count) == Self.magic, let through = r.readU64(), let count = r.readU32()
        else { return nil }
        return (through, count)
    }

    /// Reads one subject record ``write(subject:_:into:)`` wrote.
    static func readSubject(_ r: inout ByteReader) -> (Pseudonym, SubjectProjection)? {
        var subject = SubjectProjection()
        var valid = true
        let read = readSubject(&r) { purpose, decision, _ in
            if let purpose = String(validating: purpose, as: UTF8.self) {
                subject.consents[purpose] = decision
            } else {
                valid = false
            }
        }
        guard valid, let (id, erasure) = read else { return nil }
        subject.erasure = erasure
        return (id, subject)
    }

    /// Reads one subject record, handing each decision to `decision` with its purpose's bytes (in
    /// place) and whether the subject is erased, so that counting pairs builds no dictionary or
    /// string per subject.
    /// - Returns: The pseudonym and the erasure; `nil` when the record is truncated or malformed.
    static func readSubject(
        _ r: inout ByteReader,
        decision: (_ purpose: UnsafeRawBufferPointer, _ decision: ConsentDecision, _ erased: Bool) -> Void
    ) -> (id: Pseudonym, erasure: (seq: UInt64, occurredAt: Timestamp)?)? {
        guard let high = r.readU64(), let low = r.readU64(), let erased = r.readU8(), erased <= 1 else { return nil }
        var erasure: (seq: UInt64, occurredAt: Timestamp)?
        if erased == 1 {
            guard let seq = r.readU64(), let occurred = r.readI64() else { return nil }
            erasure = (seq, Timestamp(milliseconds: occurred))
        }
        guard let consents = r.readU32() else { return nil }
        for _ in 0..<consents {
            guard let purpose = r.readField(), let granted = r.readU8(), let occurred = r.readI64(),
                let seq = r.readU64(), let expires = r.readI64()
            else { return nil }
            let read = ConsentDecision(
                granted: granted == 1,
                occurredAt: Timestamp(milliseconds: occurred),
                seq: seq,
                expiresAt: expires == Int64.min ? nil : Timestamp(milliseconds: expires)
            )
            decision(purpose, read, erasure != nil)
        }
        return (Pseudonym(high: high, low: low), erasure)
    }

    /// Reads the requests part ``write(requests:into:)`` wrote.
    static func readRequests(_ r: inout ByteReader) -> [String: RequestProjection]? {
        guard let requestCount = r.readU32() else { return nil }
        var requests: [String: RequestProjection] = [:]
        for _ in 0..<requestCount {
            guard let id = r.readString(), let kindText = r.readString(),
                let kind = RequestKind(rawValue: kindText),
                let pseudonym = r.readString(), let opened = r.readI64(), let due = r.readI64(),
                let statusText = r.readString(), let status = RequestProjection.Status(rawValue: statusText),
                let closed = r.readI64()
            else { return nil }
            requests[id] = RequestProjection(
                requestId: id,
                kind: kind,
                pseudonym: pseudonym,
                openedAt: Timestamp(milliseconds: opened),
                dueAt: Timestamp(milliseconds: due),
                status: status,
                closedAt: closed == Int64.min ? nil : Timestamp(milliseconds: closed)
            )
        }
        return requests
    }
}
