/// What state derived from the log needs of an event, decoded without the payload, actor,
/// notice or hashes — and without building strings for ids nobody reads. Rebuilds and as-of
/// folds read millions of these.
public struct EventSummary: Sendable, Equatable {
    /// The event's position in the log.
    public var seq: UInt64
    /// The event type.
    public var type: EventType
    /// The subject's pseudonym.
    public var subject: Pseudonym
    /// Empty for events without a purpose.
    public var purpose: String
    /// The event's id for a `*.requested` event (it is the request id); empty otherwise.
    public var eventId: String
    /// Empty for events that name no request.
    public var requestId: String
    /// When it happened.
    public var occurredAt: Timestamp
    /// When the ledger appended it.
    public var recordedAt: Timestamp
    /// When a grant lapses, or a request's new due date.
    public var expiresAt: Timestamp?

    /// Creates a summary from its fields.
    public init(
        seq: UInt64,
        type: EventType,
        subject: Pseudonym,
        purpose: String,
        eventId: String,
        requestId: String,
        occurredAt: Timestamp,
        recordedAt: Timestamp,
        expiresAt: Timestamp?
    ) {
        self.seq = seq
        self.type = type
        self.subject = subject
        self.purpose = purpose
        self.eventId = eventId
        self.requestId = requestId
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
        self.expiresAt = expiresAt
    }

    /// The summary of a full event; `nil` when its subject is not a pseudonym.
    public init?(_ event: StoredEvent) {
        guard let subject = Pseudonym(hex: event.subject) else { return nil }
        self.init(
            seq: event.seq,
            type: event.type,
            subject: subject,
            purpose: event.purpose,
            eventId: event.type.opensRequest == nil ? "" : event.eventId,
            requestId: event.requestId,
            occurredAt: event.occurredAt,
            recordedAt: event.recordedAt,
            expiresAt: event.expiresAt
        )
    }

    /// Decodes a log record (``StoredEvent/record``) in place, allocating only the strings it
    /// keeps; `nil` when the record is malformed.
    init?(record: UnsafeRawBufferPointer) {
        var reader = ByteReader(record)
        guard reader.skip(count: 64), let seq = reader.readU64(), let eventIdRange = reader.skipField(),
            let typeRange = reader.skipField(),
            let type = EventType(utf8: UnsafeRawBufferPointer(rebasing: record[typeRange])),
            let subjectRange = reader.skipField(),
            let subject = Pseudonym(hexBytes: UnsafeRawBufferPointer(rebasing: record[subjectRange])),
            let purposeRange = reader.skipField(), reader.skipLengthPrefixed(), let requestIdRange = reader.skipField(),
            let occurred = reader.readI64(), let recorded = reader.readI64(), let expires = reader.readI64()
        else { return nil }
        func text(_ range: Range<Int>) -> String {
            range.isEmpty ? "" : String(decoding: UnsafeRawBufferPointer(rebasing: record[range]), as: UTF8.self)
        }
        self.init(
            seq: seq,
            type: type,
            subject: subject,
            purpose: text(purposeRange),
            eventId: type.opensRequest == nil ? "" : text(eventIdRange),
            requestId: text(requestIdRange),
            occurredAt: Timestamp(milliseconds: occurred),
            recordedAt: Timestamp(milliseconds: recorded),
            expiresAt: expires == 0 ? nil : Timestamp(milliseconds: expires)
        )
    }
}
