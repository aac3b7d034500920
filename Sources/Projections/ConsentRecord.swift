import Ledger

/// An ISO/IEC TS 27560:2023 consent record, as profiled by W3C DPV (`dpv-27560#record-eu-gdpr`),
/// for one `consent.granted` or `consent.withdrawn` event (docs/RECEIPTS.md has the mapping).
///
/// It names the subject by pseudonym only, never by external id, and holds no payload.
public struct ConsentRecord: Sendable {
    /// The DPV consent status of the record's event (namespace `https://w3id.org/dpv#`).
    public enum State: String, Sendable, CaseIterable {
        /// A grant while the subject had no live grant of the purpose.
        case given = "ConsentGiven"
        /// A grant while the subject already had the purpose granted (not withdrawn, not lapsed).
        case renewed = "RenewedConsentGiven"
        /// A withdrawal.
        case withdrawn = "ConsentWithdrawn"
        /// A grant that had lapsed (its `expiresAt` or its purpose's TTL) by the receipt's date.
        case expired = "ConsentExpired"

        /// Whether an event of `type` can have this state.
        public func fits(_ type: EventType) -> Bool {
            switch self {
            case .given, .renewed, .expired: type == .consentGranted
            case .withdrawn: type == .consentWithdrawn
            }
        }
    }

    /// The version of this record layout.
    public static let schemaVersion = "consentledger-27560/1"

    /// The event the record describes.
    public var event: StoredEvent
    /// The DPV status of the event.
    public var state: State
    /// The notice the person was shown: the grant's, or for a withdrawal the notice of the grant it
    /// withdraws; `nil` when there is none.
    public var notice: Catalogue.Notice?
    /// The event's purpose, from the catalogue.
    public var purpose: Catalogue.Purpose
    /// The controller, from the catalogue.
    public var controller: Catalogue.Controller
    /// How long the grant is valid, as an ISO 8601 duration; `nil` when it does not lapse.
    public var validityDuration: String?

    /// The record as JSON, the 27560 field names as keys.
    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("schema_version", .string(Self.schemaVersion)), ("record_id", .string(event.eventId)),
            ("pii_principal_id", .string(event.subject)),
        ]
        if let notice {
            pairs.append(
                ("privacy_notice", .object([("version", .string(notice.version)), ("sha256", .string(notice.sha256))]))
            )
        }
        if !controller.language.isEmpty { pairs.append(("language", .string(controller.language))) }
        pairs += [
            (
                "purpose",
                .object([
                    ("id", .string(purpose.id)),
                    ("titles", .object(purpose.titles.keys.sorted().map { ($0, .string(purpose.titles[$0] ?? "")) })),
                ])
            ),
            ("lawful_basis", .string(Self.lawfulBasis(purpose.basis))),
            (
                "pii_controllers",
                .array([.object([("name", .string(controller.name)), ("contact", .string(controller.contact))])])
            ),
            ("storage_locations", .array(controller.storageLocations.map { .string($0) })),
            ("retention_period", .string(purpose.retention)),
        ]
        if !controller.jurisdiction.isEmpty { pairs.append(("jurisdiction", .string(controller.jurisdiction))) }
        pairs.append(("recipient_third_parties", .array(purpose.processors.map { .string($0) })))
        if !controller.withdrawalMethod.isEmpty {
            pairs.append(("withdrawal_method", .string(controller.withdrawalMethod)))
        }
        var eventPairs: [(String, JSONValue)] = [("event_time", .string(event.occurredAt.rfc3339))]
        if let validityDuration { eventPairs.append(("validity_duration", .string(validityDuration))) }
        eventPairs += [("event_type", .string(event.type.rawValue)), ("event_state", .string(state.rawValue))]
        pairs.append(("event", .object(eventPairs)))
        return .object(pairs)
    }

    /// The GDPR article of a legal basis, such as `GDPR Art. 6(1)(a)` for consent.
    public static func lawfulBasis(_ basis: Catalogue.LegalBasis) -> String {
        switch basis {
        case .consent: "GDPR Art. 6(1)(a)"
        case .contract: "GDPR Art. 6(1)(b)"
        case .legalObligation: "GDPR Art. 6(1)(c)"
        case .legitimateInterest: "GDPR Art. 6(1)(f)"
        }
    }

    /// `P<n>D` when `milliseconds` is whole days, else `PT<n>S` (rounded down to the second);
    /// `nil` when it is not positive.
    static func isoDuration(milliseconds: Int64) -> String? {
        guard milliseconds >= 1000 else { return nil }
        if milliseconds % 86_400_000 == 0 { return "P\(milliseconds / 86_400_000)D" }
        return "PT\(milliseconds / 1000)S"
    }

    /// The record of the subject's deciding grant or withdrawal of `purpose` at `asOf`.
    ///
    /// The deciding event is the one with the greatest (`occurredAt`, `seq`) among those recorded
    /// and occurring by `asOf` — the projection's rule (SPEC §5).
    /// - Parameter events: The subject's events, in log order.
    /// - Throws: ``LedgerError`` `not_found` when the subject has no grant or withdrawal of it by then.
    public static func deciding(
        purpose: Catalogue.Purpose,
        controller: Catalogue.Controller,
        events: [StoredEvent],
        asOf: Timestamp
    ) throws -> ConsentRecord {
        let consentEvents = events.filter {
            $0.purpose == purpose.id && ($0.type == .consentGranted || $0.type == .consentWithdrawn)
                && $0.occurredAt <= asOf && $0.recordedAt <= asOf
        }
        var decisions: [(event: StoredEvent, decision: ConsentDecision)] = consentEvents.compactMap { event in
            EventSummary(event).flatMap(ConsentDecision.init).map { (event, $0) }
        }
        decisions.sort { ($0.decision.occurredAt, $0.decision.seq) < ($1.decision.occurredAt, $1.decision.seq) }
        guard let last = decisions.last else {
            throw LedgerError(.notFound, "the subject has no grant or withdrawal of purpose \(purpose.id) by then")
        }
        let prior = decisions.dropLast().last
        let event = last.event
        let state: State
        var noticeVersion = event.notice
        var validity: String?
        if last.decision.granted {
            let expiry = last.decision.expiresAt ?? purpose.consentTTLDays.map { event.occurredAt.adding(days: $0) }
            validity = expiry.flatMap { isoDuration(milliseconds: $0.milliseconds - event.occurredAt.milliseconds) }
            let priorLive = prior.map { prior in
                SubjectProjection.status(
                    of: prior.decision,
                    ttlDays: purpose.consentTTLDays,
                    erased: false,
                    at: event.occurredAt
                ).status == .granted
            }
            let (status, _) = SubjectProjection.status(
                of: last.decision,
                ttlDays: purpose.consentTTLDays,
                erased: false,
                at: asOf
            )
            state = status == .expired ? .expired : (priorLive == true ? .renewed : .given)
        } else {
            state = .withdrawn
            if noticeVersion.isEmpty, let prior, prior.decision.granted { noticeVersion = prior.event.notice }
        }
        return ConsentRecord(
            event: event,
            state: state,
            notice: noticeVersion.isEmpty ? nil : purpose.notice(noticeVersion),
            purpose: purpose,
            controller: controller,
            validityDuration: validity
        )
    }

    /// The record of each consent purpose of `catalogue` the subject granted or withdrew by
    /// `asOf` (``deciding(purpose:controller:events:asOf:)``), in catalogue order.
    /// - Parameter events: The subject's events, in log order.
    public static func all(catalogue: Catalogue, events: [StoredEvent], asOf: Timestamp) throws -> [ConsentRecord] {
        let purposes = Set(events.map(\.purpose))
        return try catalogue.purposes.filter { purposes.contains($0.id) }.compactMap { purpose in
            do {
                return try deciding(purpose: purpose, controller: catalogue.controller, events: events, asOf: asOf)
            } catch let error as LedgerError where error.code == .notFound {
                return nil
            }
        }
    }

    /// One subject's records as of `asOf` (``all(catalogue:events:asOf:)``, only `purpose`'s when
    /// given) as one JSON-LD document (``jsonLD(_:asOf:)``): what `ledgerctl state --format dpv`
    /// prints and `POST /v1/consents/records` answers.
    /// - Throws: ``LedgerError`` `subject_not_found` when the pseudonym has no events;
    ///   `unknown_purpose` when the catalogue does not name `purpose`.
    public static func jsonLD(
        ofSubject pseudonym: String,
        in ledger: Ledger,
        asOf: Timestamp,
        purpose: String?
    )
        throws -> JSONValue
    {
        let catalogue = try ledger.catalogue()
        if let purpose, catalogue.purpose(purpose) == nil {
            throw LedgerError(.unknownPurpose, "unknown purpose \(String(purpose.prefix(64)).debugDescription)")
        }
        let events = try ledger.subjectEvents(pseudonym: pseudonym)
        guard !events.isEmpty else { throw LedgerError(.subjectNotFound, "no events of this pseudonym") }
        let records = try all(catalogue: catalogue, events: events, asOf: asOf).filter {
            purpose == nil || $0.purpose.id == purpose
        }
        return jsonLD(records, asOf: asOf)
    }

    /// Records as one JSON-LD document (`ledgerctl state --format dpv`): `asOf` and the records
    /// under `record`, with the receipts' inline DPV context (``ConsentReceipt/jsonLDContext``).
    public static func jsonLD(_ records: [ConsentRecord], asOf: Timestamp) -> JSONValue {
        .object([
            ("@context", ConsentReceipt.jsonLDContext), ("asOf", .string(asOf.rfc3339)),
            ("record", .array(records.map(\.json))),
        ])
    }

    /// Why the record's event-derived fields do not match `event`, or `nil` when they do:
    /// `record_id`, `pii_principal_id`, `purpose.id`, `event.event_time`, `event.event_type`, and an
    /// `event.event_state` that fits the event type.
    public static func mismatch(of record: JSONValue, with event: StoredEvent) -> String? {
        guard record["schema_version"]?.stringValue == schemaVersion else { return "the record's schema_version" }
        guard record["record_id"]?.stringValue == event.eventId else { return "the record's record_id" }
        guard record["pii_principal_id"]?.stringValue == event.subject else { return "the record's pii_principal_id" }
        guard record["purpose"]?["id"]?.stringValue == event.purpose else { return "the record's purpose" }
        let eventPart = record["event"]
        guard eventPart?["event_time"]?.stringValue == event.occurredAt.rfc3339 else {
            return "the record's event_time"
        }
        guard eventPart?["event_type"]?.stringValue == event.type.rawValue else { return "the record's event_type" }
        guard let stateText = eventPart?["event_state"]?.stringValue, let state = State(rawValue: stateText),
            state.fits(event.type)
        else { return "the record's event_state" }
        return nil
    }
}
