extension LedgerError {
    /// A stable error code. Raw values are the strings of SPEC §7 (shared by the CLI and HTTP) and
    /// a few internal codes for conditions that only the operator's tools meet.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The code as SPEC §7 spells it, such as `subject_not_found`.
        public let rawValue: String
        /// A code from its SPEC §7 spelling.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The raw value.
        public var description: String { rawValue }

        // MARK: Client input (SPEC §7)
        /// 400: the body (or a batch line) is not JSON, or not a JSON object.
        public static let invalidJSON = Code(rawValue: "invalid_json")
        /// 400: a field the call does not take.
        public static let unknownField = Code(rawValue: "unknown_field")
        /// 400: a field the event type requires is absent.
        public static let missingField = Code(rawValue: "missing_field")
        /// 400: a field has the wrong type, format or length, or is not allowed on this type.
        public static let invalidField = Code(rawValue: "invalid_field")
        /// 400: an event type SPEC §3 does not define.
        public static let unknownType = Code(rawValue: "unknown_type")
        /// 403: the caller lacks the role, purpose or type.
        public static let forbidden = Code(rawValue: "forbidden")
        /// 404: no such route or record.
        public static let notFound = Code(rawValue: "not_found")
        /// 404: no subject has this external id or pseudonym.
        public static let subjectNotFound = Code(rawValue: "subject_not_found")
        /// 405: the route takes another method.
        public static let methodNotAllowed = Code(rawValue: "method_not_allowed")
        /// 409: the event id was used before with other content.
        public static let eventIdConflict = Code(rawValue: "event_id_conflict")
        /// 413: a body over 1 MiB, or `data` over 16,384 bytes of compact JSON.
        public static let payloadTooLarge = Code(rawValue: "payload_too_large")
        /// 413: a batch over 10,000 events.
        public static let batchTooLarge = Code(rawValue: "batch_too_large")
        /// 422: a purpose the catalogue does not hold.
        public static let unknownPurpose = Code(rawValue: "unknown_purpose")
        /// 422: a consent event for a purpose whose legal basis is not consent.
        public static let purposeNotConsentBased = Code(rawValue: "purpose_not_consent_based")
        /// 422: a notice version the purpose does not have.
        public static let unknownNotice = Code(rawValue: "unknown_notice")
        /// 422: `occurredAt` more than five minutes after the ledger's time.
        public static let occurredInFuture = Code(rawValue: "occurred_in_future")
        /// 422: the request named is not open for this subject.
        public static let requestNotOpen = Code(rawValue: "request_not_open")
        /// 400: the request is not well-formed HTTP/1.1 (request line, headers, framing).
        public static let badRequest = Code(rawValue: "bad_request")
        /// 503: every connection the server serves at once is in the middle of a request; retry.
        public static let tooManyConnections = Code(rawValue: "too_many_connections")
        /// 500: a fault of the ledger, never of the input.
        public static let `internal` = Code(rawValue: "internal")
        /// 507: the map reached its ceiling or cannot grow, or the disk is full; nothing was appended.
        public static let ledgerFull = Code(rawValue: "ledger_full")

        // MARK: Operator and auditor conditions (internal codes)
        /// The ledger directory holds no ledger.
        public static let ledgerMissing = Code(rawValue: "ledger_missing")
        /// Another process holds a lock the operation needs.
        public static let ledgerLocked = Code(rawValue: "ledger_locked")
        /// LMDB or the ledger's own records are damaged or unreadable.
        public static let ledgerCorrupt = Code(rawValue: "ledger_corrupt")
        /// A stored event's hash or link does not match (verify).
        public static let chainBroken = Code(rawValue: "chain_broken")
        /// The master key file is missing.
        public static let keyMissing = Code(rawValue: "key_missing")
        /// The master key file is malformed, or does not open this ledger's key store.
        public static let keyInvalid = Code(rawValue: "key_invalid")
        /// The master key file is readable by group or others.
        public static let keyInsecure = Code(rawValue: "key_insecure")
        /// A catalogue file is malformed or breaks a catalogue rule.
        public static let invalidCatalogue = Code(rawValue: "invalid_catalogue")
        /// An input file (import, export to verify) cannot be read.
        public static let unreadableInput = Code(rawValue: "unreadable_input")
        /// An I/O operation on the ledger directory failed.
        public static let ioError = Code(rawValue: "io_error")

        /// Every code, in the order listed above; pinned by a golden file.
        public static let all: [Code] = [
            .invalidJSON, .unknownField, .missingField, .invalidField, .unknownType, .forbidden, .notFound,
            .subjectNotFound, .methodNotAllowed, .eventIdConflict, .payloadTooLarge, .batchTooLarge,
            .unknownPurpose, .purposeNotConsentBased, .unknownNotice, .occurredInFuture, .requestNotOpen,
            .badRequest, .tooManyConnections, .internal, .ledgerFull, .ledgerMissing, .ledgerLocked, .ledgerCorrupt,
            .chainBroken, .keyMissing,
            .keyInvalid, .keyInsecure, .invalidCatalogue, .unreadableInput, .ioError,
        ]
    }
}
