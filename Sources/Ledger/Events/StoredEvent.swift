import Foundation

/// One event as the log holds it (SPEC §4, "A stored event"): subject is a pseudonym, payload is
/// ciphertext, and `hash` chains it to the event before it.
public struct StoredEvent: Sendable, Equatable {
    /// The event's position in the log, from 1.
    public var seq: UInt64
    /// The event's UUID, the client's or one the ledger generated.
    public var eventId: String
    /// The event type (SPEC §3).
    public var type: EventType
    /// The subject's pseudonym (32 hex characters), never the external id.
    public var subject: String
    /// The purpose id; empty when the type takes none.
    public var purpose: String
    /// The notice version; empty when none was given.
    public var notice: String
    /// The request the event opens or answers; empty for consent events.
    public var requestId: String
    /// When it happened.
    public var occurredAt: Timestamp
    /// When the ledger appended it.
    public var recordedAt: Timestamp
    /// When a grant lapses, or a request's new due date.
    public var expiresAt: Timestamp?
    /// Who appended it: a client's name from the catalogue, or `uid:<n>`.
    public var actor: String
    /// nonce(12) ‖ ciphertext ‖ tag(16) of AES-256-GCM, or empty.
    public var payload: [UInt8]
    /// The hash of the event before it (32 zero bytes for seq 1).
    public var prevHash: [UInt8]
    /// The event's own hash (SPEC §4).
    public var hash: [UInt8]

    /// The hashed body (everything after `"CLv1"`).
    var body: [UInt8] {
        ChainHash.body(
            prevHash: prevHash,
            seq: seq,
            eventId: eventId,
            type: type.rawValue,
            subject: subject,
            purpose: purpose,
            notice: notice,
            requestId: requestId,
            occurredAt: occurredAt.milliseconds,
            recordedAt: recordedAt.milliseconds,
            expiresAt: expiresAt?.milliseconds ?? 0,
            actor: actor,
            payload: payload
        )
    }

    /// The hash the SPEC rule gives for this event's fields (equal to ``hash`` unless altered).
    public var recomputedHash: [UInt8] { ChainHash.hash(body: body) }

    /// Sets `hash` from the other fields by the SPEC rule.
    mutating func seal() { hash = ChainHash.hash(body: body) }

    /// The LMDB value: `hash(32) ‖ body`.
    var record: [UInt8] { hash + body }

    /// Decodes an LMDB value written by ``record``; `nil` when it is malformed.
    init?(record: UnsafeRawBufferPointer) {
        var reader = ByteReader(record)
        guard let hash = reader.read(count: 32), let prev = reader.read(count: 32), let seq = reader.readU64(),
            let eventId = reader.readString(), let typeText = reader.readString(),
            let type = EventType(rawValue: typeText), let subject = reader.readString(),
            let purpose = reader.readString(), let notice = reader.readString(), let requestId = reader.readString(),
            let occurred = reader.readI64(), let recorded = reader.readI64(), let expires = reader.readI64(),
            let actor = reader.readString(), let payload = reader.readLengthPrefixed(), reader.isAtEnd
        else { return nil }
        self.init(
            seq: seq,
            eventId: eventId,
            type: type,
            subject: subject,
            purpose: purpose,
            notice: notice,
            requestId: requestId,
            occurredAt: Timestamp(milliseconds: occurred),
            recordedAt: Timestamp(milliseconds: recorded),
            expiresAt: expires == 0 ? nil : Timestamp(milliseconds: expires),
            actor: actor,
            payload: payload,
            prevHash: prev,
            hash: hash
        )
    }

    /// Creates an event from its fields.
    public init(
        seq: UInt64,
        eventId: String,
        type: EventType,
        subject: String,
        purpose: String,
        notice: String,
        requestId: String,
        occurredAt: Timestamp,
        recordedAt: Timestamp,
        expiresAt: Timestamp?,
        actor: String,
        payload: [UInt8],
        prevHash: [UInt8],
        hash: [UInt8]
    ) {
        self.seq = seq
        self.eventId = eventId
        self.type = type
        self.subject = subject
        self.purpose = purpose
        self.notice = notice
        self.requestId = requestId
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
        self.expiresAt = expiresAt
        self.actor = actor
        self.payload = payload
        self.prevHash = prevHash
        self.hash = hash
    }

    /// The hash as 64 lower-case hex characters.
    public var hashHex: String { Hex.encode(hash) }

    /// The export record of SPEC §4, keys in the SPEC's order.
    public var exportRecord: JSONValue {
        .object([
            ("seq", .int(Int64(seq))), ("eventId", .string(eventId)), ("type", .string(type.rawValue)),
            ("subject", .string(subject)), ("purpose", .string(purpose)), ("notice", .string(notice)),
            ("requestId", .string(requestId)), ("occurredAt", .string(occurredAt.rfc3339)),
            ("recordedAt", .string(recordedAt.rfc3339)), ("expiresAt", .string(expiresAt?.rfc3339 ?? "")),
            ("actor", .string(actor)), ("payload", .string(Data(payload).base64EncodedString())),
            ("prevHash", .string(Hex.encode(prevHash))), ("hash", .string(Hex.encode(hash))),
        ])
    }
}
