extension LedgerError {
    /// A stable error code. Raw values are the strings of SPEC §7 (shared by the CLI and HTTP) and
    /// a few internal codes for conditions that only the operator's tools meet.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        // MARK: Client input (SPEC §7)
        public static let invalidJSON = Code(rawValue: "invalid_json")
        public static let unknownField = Code(rawValue: "unknown_field")
        public static let missingField = Code(rawValue: "missing_field")
        public static let invalidField = Code(rawValue: "invalid_field")
        public static let unknownType = Code(rawValue: "unknown_type")
        public static let forbidden = Code(rawValue: "forbidden")
        public static let notFound = Code(rawValue: "not_found")
        public static let subjectNotFound = Code(rawValue: "subject_not_found")
        public static let methodNotAllowed = Code(rawValue: "method_not_allowed")
        public static let eventIdConflict = Code(rawValue: "event_id_conflict")
        public static let payloadTooLarge = Code(rawValue: "payload_too_large")
        public static let batchTooLarge = Code(rawValue: "batch_too_large")
        public static let unknownPurpose = Code(rawValue: "unknown_purpose")
        public static let purposeNotConsentBased = Code(rawValue: "purpose_not_consent_based")
        public static let unknownNotice = Code(rawValue: "unknown_notice")
        public static let occurredInFuture = Code(rawValue: "occurred_in_future")
        public static let requestNotOpen = Code(rawValue: "request_not_open")
        public static let `internal` = Code(rawValue: "internal")
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
            .internal, .ledgerFull, .ledgerMissing, .ledgerLocked, .ledgerCorrupt, .chainBroken, .keyMissing,
            .keyInvalid, .keyInsecure, .invalidCatalogue, .unreadableInput, .ioError,
        ]
    }
}
