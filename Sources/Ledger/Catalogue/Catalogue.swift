import Crypto

/// The purpose catalogue (SPEC §9): the controller, the processing purposes with their legal
/// basis and consent notices, the request deadlines, and the socket clients.
public struct Catalogue: Sendable {
    /// A purpose's legal basis (GDPR Art. 6(1)).
    public enum LegalBasis: String, CaseIterable, Sendable {
        case consent
        case contract
        case legalObligation = "legal_obligation"
        case legitimateInterest = "legitimate_interest"
    }

    /// The organisation responsible for the processing.
    public struct Controller: Sendable {
        /// The controller's name.
        public var name: String
        /// How to reach the controller.
        public var contact: String
        /// The country whose law governs the processing, as an ISO 3166-1 alpha-2 code (`NO`); empty
        /// when the catalogue names none.
        public var jurisdiction: String = ""
        /// The language of the notices, as a BCP 47 tag (`nb`); empty when the catalogue names none.
        public var language: String = ""
        /// How a person withdraws consent, in words; empty when the catalogue says nothing.
        public var withdrawalMethod: String = ""
        /// Where the personal data is stored, in words; empty when the catalogue says nothing.
        public var storageLocations: [String] = []
    }

    /// The exact text a person was shown when asked for consent, by version.
    public struct Notice: Sendable {
        /// The notice version, such as `policy-v1`.
        public var version: String
        /// The notice text, verbatim.
        public var text: String
        /// SHA-256 of the text's UTF-8 bytes, as 64 hex characters.
        public var sha256: String {
            Hex.encode(SHA256.hash(data: Array(text.utf8)))
        }
    }

    /// One processing purpose.
    public struct Purpose: Sendable {
        /// The purpose id events name.
        public var id: String
        /// Titles by language code (`nb`, `en`).
        public var titles: [String: String]
        /// The legal basis; consent events apply only to `consent`.
        public var basis: LegalBasis
        /// Who processes the data on the controller's behalf.
        public var processors: [String]
        /// How long the data is kept, in words.
        public var retention: String
        /// Days after which a grant expires when it names no `expiresAt`.
        public var consentTTLDays: Int?
        /// Every notice version ever shown for this purpose.
        public var notices: [Notice]

        /// The notice of the given version, if the purpose has it.
        public func notice(_ version: String) -> Notice? { notices.first { $0.version == version } }
    }

    /// A role a socket client may hold (SPEC §7).
    public enum Role: String, CaseIterable, Sendable {
        case append, read, erase, audit
    }

    /// A socket client: who it is (by uid or user name, or gid or group) and what it may do.
    public struct Client: Sendable {
        /// The client's name, recorded as the `actor` of its events.
        public var name: String
        /// Matches a peer by uid.
        public var uid: UInt32?
        /// Matches a peer by user name.
        public var user: String?
        /// Matches a peer by gid.
        public var gid: UInt32?
        /// Matches a peer by group name.
        public var group: String?
        /// What the client may do.
        public var roles: Set<Role>
        /// When set, the purposes this client may append for.
        public var purposes: Set<String>?
        /// When set, the event types this client may append.
        public var types: Set<EventType>?
    }

    /// The organisation responsible for the processing.
    public var controller: Controller
    /// The processing purposes, in catalogue order.
    public var purposes: [Purpose]
    /// Days from a request's `occurredAt` to its deadline (SPEC §2; default 30).
    public var requestDeadlineDays: Int
    /// The days a catalogue may give a consent TTL: one day to a hundred years.
    public static let dayRange = 1...36_500
    /// The most days an extension may add to the original deadline (GDPR Art. 12(3); default 60).
    public var extensionLimitDays: Int
    /// The socket's clients; `nil` when the catalogue has no `clients` section.
    public var clients: [Client]?
    /// The witnesses whose cosignatures on checkpoints the ledger accepts and shows
    /// (docs/AUDITING.md, "Witness cosignatures"); empty when the catalogue lists none.
    public var witnesses: [WitnessKey] = []
    /// The file the catalogue was read from, kept so the ledger can store and show it verbatim.
    public var source: String

    /// The purpose with the given id, if any.
    public func purpose(_ id: String) -> Purpose? { purposes.first { $0.id == id } }
}
