/// The ledger's own record of a data-subject request, kept in the `requests` table so the append
/// path can check `requestId`s (SPEC §4): who opened it, its deadlines and whether it is still open.
struct RequestRecord: Sendable, Equatable {
    enum Status: UInt8, Sendable {
        case open = 0
        case completed = 1
        case rejected = 2
    }

    var kind: RequestKind
    var status: Status
    var extended: Bool
    var pseudonym: [UInt8]
    var openSeq: UInt64
    var openedAt: Timestamp
    var originalDueAt: Timestamp
    var dueAt: Timestamp
    var closedAt: Timestamp?

    /// The record a `*.requested` event opens (SPEC §5): due `deadlineDays` after it occurred.
    static func opened(
        kind: RequestKind,
        pseudonym: [UInt8],
        seq: UInt64,
        occurredAt: Timestamp,
        deadlineDays: Int
    ) -> RequestRecord {
        let due = occurredAt.adding(days: deadlineDays)
        return RequestRecord(
            kind: kind,
            status: .open,
            extended: false,
            pseudonym: pseudonym,
            openSeq: seq,
            openedAt: occurredAt,
            originalDueAt: due,
            dueAt: due,
            closedAt: nil
        )
    }

    /// What an event naming this request does to it: a closing type closes it at `time` with its
    /// outcome, `request.extended` moves its due date to `expiresAt`. The append path checks the
    /// rules before (open, same kind, one extension within the limit); the log holds only events
    /// that passed them, so folds of the log apply them as they are.
    mutating func apply(_ type: EventType, at time: Timestamp, expiresAt: Timestamp?) {
        if let outcome = type.closingOutcome {
            status = outcome == .completed ? .completed : .rejected
            closedAt = time
        } else if type == .requestExtended, let expiresAt {
            dueAt = expiresAt
            extended = true
        }
    }

    var encoded: [UInt8] {
        var writer = ByteWriter(capacity: 64)
        writer.write(u8: kind.code)
        writer.write(u8: status.rawValue)
        writer.write(u8: extended ? 1 : 0)
        writer.write(pseudonym)
        writer.write(u64: openSeq)
        writer.write(i64: openedAt.milliseconds)
        writer.write(i64: originalDueAt.milliseconds)
        writer.write(i64: dueAt.milliseconds)
        writer.write(i64: closedAt?.milliseconds ?? Int64.min)
        return writer.bytes
    }

    init(
        kind: RequestKind,
        status: Status,
        extended: Bool,
        pseudonym: [UInt8],
        openSeq: UInt64,
        openedAt: Timestamp,
        originalDueAt: Timestamp,
        dueAt: Timestamp,
        closedAt: Timestamp?
    ) {
        self.kind = kind
        self.status = status
        self.extended = extended
        self.pseudonym = pseudonym
        self.openSeq = openSeq
        self.openedAt = openedAt
        self.originalDueAt = originalDueAt
        self.dueAt = dueAt
        self.closedAt = closedAt
    }

    init?(encoded: [UInt8]) {
        let decoded: RequestRecord? = encoded.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            guard let kindCode = r.readU8(), let kind = RequestKind(code: kindCode), let statusCode = r.readU8(),
                let status = Status(rawValue: statusCode), let extended = r.readU8(), let pseudonym = r.read(count: 16),
                let openSeq = r.readU64(), let opened = r.readI64(), let original = r.readI64(), let due = r.readI64(),
                let closed = r.readI64(), r.isAtEnd
            else { return nil }
            return RequestRecord(
                kind: kind,
                status: status,
                extended: extended == 1,
                pseudonym: pseudonym,
                openSeq: openSeq,
                openedAt: Timestamp(milliseconds: opened),
                originalDueAt: Timestamp(milliseconds: original),
                dueAt: Timestamp(milliseconds: due),
                closedAt: closed == Int64.min ? nil : Timestamp(milliseconds: closed)
            )
        }
        guard let decoded else { return nil }
        self = decoded
    }
}
