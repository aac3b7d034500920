/// The twelve event types of SPEC §4.
public enum EventType: String, CaseIterable, Sendable {
    case consentGranted = "consent.granted"
    case consentWithdrawn = "consent.withdrawn"
    case accessRequested = "access.requested"
    case accessCompleted = "access.completed"
    case accessRejected = "access.rejected"
    case correctionRequested = "correction.requested"
    case correctionCompleted = "correction.completed"
    case correctionRejected = "correction.rejected"
    case erasureRequested = "erasure.requested"
    case erasureCompleted = "erasure.completed"
    case erasureRejected = "erasure.rejected"
    case requestExtended = "request.extended"

    private static let utf8Names: [(name: [UInt8], type: EventType)] = allCases.map { (Array($0.rawValue.utf8), $0) }

    /// The type whose name is these UTF-8 bytes, without building a string.
    init?(utf8 bytes: UnsafeRawBufferPointer) {
        guard let match = Self.utf8Names.first(where: { $0.name.count == bytes.count && $0.name.elementsEqual(bytes) })
        else {
            return nil
        }
        self = match.type
    }

    /// The types a client may append: every type but `erasure.completed`, which only the ledger writes.
    public static let clientTypes: [EventType] = allCases.filter { $0 != .erasureCompleted }

    /// Whether the type is a `consent.*` event, which requires a consent-based purpose.
    public var isConsent: Bool { self == .consentGranted || self == .consentWithdrawn }

    /// The kind of request the type opens, if it is a `*.requested` event.
    public var opensRequest: RequestKind? {
        switch self {
        case .accessRequested: return .access
        case .correctionRequested: return .correction
        case .erasureRequested: return .erasure
        default: return nil
        }
    }

    /// The kind of request the type closes, if it is a `*.completed` or `*.rejected` event.
    public var closesRequest: RequestKind? {
        switch self {
        case .accessCompleted, .accessRejected: return .access
        case .correctionCompleted, .correctionRejected: return .correction
        case .erasureCompleted, .erasureRejected: return .erasure
        default: return nil
        }
    }

    /// How a closing type ends its request: `*.completed` (and the ledger's `erasure.completed`)
    /// complete it, `*.rejected` rejects it; `nil` for a type that closes none.
    public var closingOutcome: RequestOutcome? {
        switch self {
        case .accessCompleted, .correctionCompleted, .erasureCompleted: return .completed
        case .accessRejected, .correctionRejected, .erasureRejected: return .rejected
        default: return nil
        }
    }

    /// Whether the event names a request with `requestId` (closing or extending one).
    public var takesRequestId: Bool { closesRequest != nil || self == .requestExtended }
}

/// How a data-subject request ends.
public enum RequestOutcome: String, Sendable {
    case completed
    case rejected
}

/// The kinds of data-subject request (GDPR Art. 15–17).
public enum RequestKind: String, CaseIterable, Sendable {
    case access
    case correction
    case erasure

    var code: UInt8 {
        switch self {
        case .access: return 1
        case .correction: return 2
        case .erasure: return 3
        }
    }

    init?(code: UInt8) {
        switch code {
        case 1: self = .access
        case 2: self = .correction
        case 3: self = .erasure
        default: return nil
        }
    }
}
