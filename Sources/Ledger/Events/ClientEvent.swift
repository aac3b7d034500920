/// An event as a client sends it (SPEC §4), decoded and checked field by field.
///
/// ``decode(json:catalogue:)`` applies the first rules of SPEC §7's order (JSON, unknown fields,
/// type, required fields, formats and limits, purpose, notice); the ledger applies the rules that
/// need its state (times, idempotency, requests) inside the append transaction.
public struct ClientEvent: Sendable, Equatable {
    /// The event type (SPEC §3).
    public var type: EventType
    /// The external id. Never logged, never stored in plaintext.
    public var subject: String
    /// The purpose id; required for consent events.
    public var purpose: String?
    /// The canonical (lower-case) UUID, when the client sent one.
    public var eventId: String?
    /// When it happened, as the client says; absent means when it is recorded.
    public var occurredAt: Timestamp?
    /// The request a closing or extending event answers.
    public var requestId: String?
    /// The notice version the person was shown (`consent.granted`).
    public var notice: String?
    /// When a grant lapses, or a request's new due date (`request.extended`).
    public var expiresAt: Timestamp?
    /// The `data` object in the ledger's canonical JSON form (``CanonicalJSON``).
    public var data: [UInt8]?

    /// The largest `data` object, as compact JSON.
    public static let maxDataBytes = 16_384
    /// The largest external id, in UTF-8 bytes.
    public static let maxSubjectBytes = 256
    /// A handful of short names: comparing each is faster than hashing it.
    static let fields: [String] = [
        "type", "subject", "purpose", "eventId", "occurredAt", "requestId", "notice", "expiresAt", "data",
    ]

    /// Creates an event from already-checked fields.
    public init(
        type: EventType,
        subject: String,
        purpose: String? = nil,
        eventId: String? = nil,
        occurredAt: Timestamp? = nil,
        requestId: String? = nil,
        notice: String? = nil,
        expiresAt: Timestamp? = nil,
        data: [UInt8]? = nil
    ) {
        self.type = type
        self.subject = subject
        self.purpose = purpose
        self.eventId = eventId
        self.occurredAt = occurredAt
        self.requestId = requestId
        self.notice = notice
        self.expiresAt = expiresAt
        self.data = data
    }

    /// Decodes one client event from JSON text and checks it against `catalogue`.
    /// - Throws: ``LedgerError`` with the first failing rule's code.
    public static func decode(json: [UInt8], catalogue: Catalogue) throws -> ClientEvent {
        if let members = JSONParser.parseShallowObject(json) {
            return try decode(fields: EventFields(members: members), catalogue: catalogue)
        }
        // Not JSON, not an object, or a member name the shallow reader leaves to the tree parser.
        let parsed: ParsedJSON
        switch JSONParser.parseReportingOffset(json) {
        case .success(let value): parsed = value
        case .failure(let error):
            throw LedgerError(.invalidJSON, "the event is not valid JSON (at byte offset \(error.offset))")
        }
        guard case .object(let members) = parsed else {
            throw LedgerError(.invalidJSON, "an event must be a JSON object")
        }
        return try decode(fields: EventFields(members: members.map { ($0.0, ShallowJSON($0.1)) }), catalogue: catalogue)
    }

    private static func decode(fields reader: EventFields, catalogue: Catalogue) throws -> ClientEvent {
        if let unknown = reader.firstUnknown(among: fields) {
            throw LedgerError(.unknownField, "unknown field \(String(unknown.prefix(64)).debugDescription)")
        }
        // Type.
        guard let typeText = try reader.string("type") else { throw LedgerError(.missingField, "missing field type") }
        guard let type = EventType(rawValue: typeText) else {
            throw LedgerError(
                .unknownType,
                "unknown event type \(String(typeText.prefix(64)).debugDescription)"
                    + Suggestion.clause(for: typeText, among: EventType.clientTypes.map(\.rawValue))
            )
        }
        if type == .erasureCompleted {
            throw LedgerError(
                .forbidden,
                "erasure.completed is appended only by the ledger when it executes an erasure (POST /v1/subjects/erase)"
            )
        }
        // Required fields.
        let subject = try reader.string("subject")
        let purpose = try reader.string("purpose")
        let requestIdText = try reader.string("requestId")
        let noticeText = try reader.string("notice")
        let expiresText = try reader.string("expiresAt")
        let eventIdText = try reader.string("eventId")
        let occurredText = try reader.string("occurredAt")
        guard let subject else { throw LedgerError(.missingField, "missing field subject") }
        if type.isConsent, purpose == nil {
            throw LedgerError(.missingField, "missing field purpose (\(type.rawValue) needs one)")
        }
        if type.takesRequestId, requestIdText == nil {
            throw LedgerError(.missingField, "missing field requestId (\(type.rawValue) names the request it answers)")
        }
        if type == .requestExtended, expiresText == nil {
            throw LedgerError(.missingField, "missing field expiresAt (request.extended gives the new due date)")
        }
        if type == .consentGranted, noticeText == nil, let purpose, let known = catalogue.purpose(purpose),
            !known.notices.isEmpty
        {
            throw LedgerError(.missingField, "missing field notice (the notice version the person was shown)")
        }
        // Formats and limits.
        try checkExternalId(subject)
        if let purpose, purpose.utf8.count > 64 { throw LedgerError(.invalidField, "purpose is longer than 64 bytes") }
        if requestIdText != nil, !type.takesRequestId {
            throw LedgerError(.invalidField, "requestId is not allowed on \(type.rawValue)")
        }
        if noticeText != nil, type != .consentGranted {
            throw LedgerError(.invalidField, "notice is allowed only on consent.granted")
        }
        if expiresText != nil, type != .consentGranted, type != .requestExtended {
            throw LedgerError(.invalidField, "expiresAt is allowed only on consent.granted and request.extended")
        }
        let eventId = try eventIdText.map { text in
            guard let id = UUIDText.canonical(text) else { throw LedgerError(.invalidField, "eventId must be a UUID") }
            return id
        }
        let requestId = try requestIdText.map { text in
            guard let id = UUIDText.canonical(text) else {
                throw LedgerError(.invalidField, "requestId must be a UUID")
            }
            return id
        }
        let occurredAt = try occurredText.map { text in
            guard let time = Timestamp(rfc3339: text) else {
                throw LedgerError(
                    .invalidField,
                    "occurredAt must be an RFC 3339 date-time, such as 2026-03-01T10:00:00Z"
                )
            }
            return time
        }
        let expiresAt = try expiresText.map { text in
            guard let time = Timestamp(rfc3339: text) else {
                throw LedgerError(
                    .invalidField,
                    "expiresAt must be an RFC 3339 date-time, such as 2027-03-01T10:00:00Z"
                )
            }
            return time
        }
        if let notice = noticeText, notice.utf8.count > 64 {
            throw LedgerError(.invalidField, "notice is longer than 64 bytes")
        }
        let data = try reader.dataObject()
        let event = ClientEvent(
            type: type,
            subject: subject,
            purpose: purpose,
            eventId: eventId,
            occurredAt: occurredAt,
            requestId: requestId,
            notice: noticeText,
            expiresAt: expiresAt,
            data: data
        )
        try event.checkCatalogue(catalogue)
        return event
    }

    /// Checks an external id: 1–256 bytes of UTF-8 without control characters (C0, DEL, C1).
    /// - Throws: ``LedgerError`` `invalid_field`; the message never repeats the id.
    public static func checkExternalId(_ subject: String) throws {
        guard !subject.isEmpty, subject.utf8.count <= maxSubjectBytes else {
            throw LedgerError(.invalidField, "subject must be 1 to \(maxSubjectBytes) bytes of UTF-8")
        }
        guard !subject.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
            throw LedgerError(.invalidField, "subject must not contain control characters")
        }
    }

    /// The purpose and notice rules: `unknown_purpose`, `purpose_not_consent_based`, `unknown_notice`.
    func checkCatalogue(_ catalogue: Catalogue) throws {
        if let purposeId = purpose {
            guard let known = catalogue.purpose(purposeId) else {
                let candidates = catalogue.purposes.filter { !type.isConsent || $0.basis == .consent }.map(\.id)
                throw LedgerError(
                    .unknownPurpose,
                    "unknown purpose \(String(purposeId.prefix(64)).debugDescription)"
                        + Suggestion.clause(for: purposeId, among: candidates)
                )
            }
            if type.isConsent, known.basis != .consent {
                throw LedgerError(
                    .purposeNotConsentBased,
                    "purpose \(purposeId) has legal basis \(known.basis.rawValue), not consent; consent events do not apply to it"
                )
            }
            if let notice, known.notice(notice) == nil {
                throw LedgerError(
                    .unknownNotice,
                    "purpose \(purposeId) has no notice version \(notice.debugDescription)"
                )
            }
        } else if let notice {
            throw LedgerError(.unknownNotice, "notice \(notice.debugDescription) names no purpose")
        }
    }

    /// The plaintext the payload encrypts: `{"subject":<external id>,"data":<data or null>}`, with
    /// `"occurredAt"` between them when the client gave one. With the event's stored fields it is
    /// everything the client sent, so an idempotent retry is compared by decrypting it
    /// (``init(stored:plaintext:)``) — and cannot be once the subject is erased.
    var payloadPlaintext: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64 + subject.utf8.count + (data?.count ?? 4))
        bytes += #"{"subject":"#.utf8
        CanonicalJSON.writeString(subject, to: &bytes)
        if let occurredAt {
            // RFC 3339 text is ASCII letters, digits and punctuation: nothing to escape.
            bytes += #","occurredAt":""#.utf8
            occurredAt.writeRFC3339(to: &bytes)
            bytes.append(UInt8(ascii: "\""))
        }
        bytes += #","data":"#.utf8
        bytes += data ?? Array("null".utf8)
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }
}

/// The fields of a client event as the parser read them; `null` and `""` count as absent.
private struct EventFields {
    /// A client event has a handful of fields: a linear list beats a dictionary here.
    private let members: [(String, ShallowJSON)]

    init(members: [(String, ShallowJSON)]) { self.members = members }

    /// The first field name (in sorted order) that is not in `known`.
    func firstUnknown(among known: [String]) -> String? {
        var unknown: String?
        for (name, _) in members where !known.contains(name) && unknown.map({ name < $0 }) ?? true {
            unknown = name
        }
        return unknown
    }

    private subscript(name: String) -> ShallowJSON? {
        for (key, value) in members where key == name { return value }
        return nil
    }

    func string(_ name: String) throws -> String? {
        switch self[name] {
        case nil, .null: return nil
        case .string(let text): return text.isEmpty ? nil : text
        default: throw LedgerError(.invalidField, "\(name) must be a string")
        }
    }

    func dataObject() throws -> [UInt8]? {
        switch self["data"] {
        case nil, .null: return nil
        case .some(let value):
            guard case .object(let encoded) = value else {
                throw LedgerError(.invalidField, "data must be a JSON object")
            }
            guard encoded.count <= ClientEvent.maxDataBytes else {
                throw LedgerError(
                    .payloadTooLarge,
                    "data is \(encoded.count) bytes as compact JSON; the limit is \(ClientEvent.maxDataBytes)"
                )
            }
            return encoded
        }
    }
}

extension ShallowJSON {
    /// A value of the tree parser in the shallow reader's form.
    init(_ value: ParsedJSON) {
        switch value {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .number(let text): self = .number(text)
        case .string(let text): self = .string(text)
        case .object: self = .object(canonical: CanonicalJSON.serialize(value))
        case .array: self = .array(canonical: CanonicalJSON.serialize(value))
        }
    }
}

extension ClientEvent {
    /// Rebuilds the event a client sent from its stored record and decrypted payload; `nil` when the
    /// plaintext is not one the ledger wrote.
    init?(stored: StoredEvent, plaintext: [UInt8]) {
        guard let object = JSONParser.parse(plaintext), case .string(let subject)? = object["subject"] else {
            return nil
        }
        var data: [UInt8]?
        switch object["data"] {
        case nil, .null?: data = nil
        case .some(let value): data = CanonicalJSON.serialize(value)
        }
        var occurredAt: Timestamp?
        switch object["occurredAt"] {
        case nil: occurredAt = nil
        case .string(let text)?:
            guard let time = Timestamp(rfc3339: text) else { return nil }
            occurredAt = time
        default: return nil
        }
        self.init(
            type: stored.type,
            subject: subject,
            purpose: stored.purpose.isEmpty ? nil : stored.purpose,
            eventId: stored.eventId,
            occurredAt: occurredAt,
            requestId: stored.requestId.isEmpty ? nil : stored.requestId,
            notice: stored.notice.isEmpty ? nil : stored.notice,
            expiresAt: stored.expiresAt,
            data: data
        )
    }
}

extension ClientEvent {
    /// The same event content: every field equal, and `data` with the same values in any key order,
    /// its numbers compared by exact decimal value (see ``CanonicalJSON/sameContent(_:_:)``).
    public static func == (lhs: ClientEvent, rhs: ClientEvent) -> Bool {
        guard lhs.type == rhs.type, lhs.subject == rhs.subject, lhs.purpose == rhs.purpose,
            lhs.eventId == rhs.eventId, lhs.occurredAt == rhs.occurredAt, lhs.requestId == rhs.requestId,
            lhs.notice == rhs.notice, lhs.expiresAt == rhs.expiresAt
        else { return false }
        switch (lhs.data, rhs.data) {
        case (nil, nil): return true
        case (let a?, let b?): return CanonicalJSON.sameContent(a, b)
        default: return false
        }
    }
}
