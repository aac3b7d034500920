import Ledger

/// Everything the projections know of one subject: the deciding consent event per purpose, and
/// the erasure, if any.
public struct SubjectProjection: Sendable, Equatable {
    /// The deciding consent event by purpose id.
    public var consents: [String: ConsentDecision] = [:]
    /// The `erasure.completed` event's seq and `occurredAt`, once erased.
    public var erasure: (seq: UInt64, occurredAt: Timestamp)?

    /// A subject with no events.
    public init() {}

    /// Equal when every decision and the erasure agree.
    public static func == (lhs: SubjectProjection, rhs: SubjectProjection) -> Bool {
        lhs.consents == rhs.consents && lhs.erasure?.seq == rhs.erasure?.seq
            && lhs.erasure?.occurredAt == rhs.erasure?.occurredAt
    }

    /// Folds one of the subject's events in.
    mutating func apply(_ event: EventSummary) {
        switch event.type {
        case .consentGranted, .consentWithdrawn:
            guard let decision = ConsentDecision(event) else { return }
            if let current = consents[event.purpose], !current.isSuperseded(by: decision) { return }
            consents[event.purpose] = decision
        case .erasureCompleted:
            erasure = (event.seq, event.occurredAt)
        case .accessRequested, .accessCompleted, .accessRejected, .correctionRequested, .correctionCompleted,
            .correctionRejected, .erasureRequested, .erasureRejected, .requestExtended:
            return
        }
    }

    /// The pair states at `time`, sorted by purpose (``status(of:purpose:erased:at:rules:)``).
    public func consents(at time: Timestamp, rules: ProjectionRules) -> [ConsentEntry] {
        consents.keys.sorted().compactMap { purpose in
            guard let decision = consents[purpose] else { return nil }
            if let erasure {
                return ConsentEntry(
                    purpose: purpose,
                    status: .erased,
                    since: erasure.occurredAt,
                    seq: erasure.seq,
                    expiresAt: nil
                )
            }
            let (status, expiry) = Self.status(
                of: decision,
                ttlDays: rules.consentTTLDays[purpose],
                erased: false,
                at: time
            )
            return ConsentEntry(
                purpose: purpose,
                status: status,
                since: decision.occurredAt,
                seq: decision.seq,
                expiresAt: expiry
            )
        }
    }

    /// Adds each of the subject's pairs to `tally`.
    func tally(into tally: inout PurposeTally) {
        for (purpose, decision) in consents { tally.add(decision, purpose: purpose, erased: erasure != nil) }
    }

    /// A pair's status at `time` and when its grant expires (its own `expiresAt`, or its purpose's
    /// TTL of `ttlDays` after it) — the one rule of SPEC §5's boundaries: a grant is expired at T
    /// when T ≥ its expiry; after erasure every pair is erased.
    static func status(
        of decision: ConsentDecision,
        ttlDays: Int?,
        erased: Bool,
        at time: Timestamp
    ) -> (status: ConsentStatus, expiresAt: Timestamp?) {
        if erased { return (.erased, nil) }
        guard decision.granted else { return (.withdrawn, nil) }
        let expiry = decision.expiresAt ?? ttlDays.map { decision.occurredAt.adding(days: $0) }
        let expired = expiry.map { time >= $0 } ?? false
        return (expired ? .expired : .granted, expiry)
    }
}

/// A (subject, purpose) pair's status at a time.
public enum ConsentStatus: String, Sendable, CaseIterable {
    case granted, withdrawn, expired, erased
}

/// One line of a subject's consent state (SPEC §7 `consents`).
public struct ConsentEntry: Sendable, Equatable {
    /// The purpose id.
    public var purpose: String
    /// Granted, withdrawn, expired, or erased with its subject.
    public var status: ConsentStatus
    /// The deciding event's `occurredAt` (the erasure's, once erased).
    public var since: Timestamp
    /// The deciding event's seq.
    public var seq: UInt64
    /// When the grant expires (its own `expiresAt` or the purpose's TTL), if it does.
    public var expiresAt: Timestamp?

    /// `{"purpose","status","since","seq","expiresAt"}`, `""` for no expiry.
    public var json: JSONValue {
        .object([
            ("purpose", .string(purpose)), ("status", .string(status.rawValue)), ("since", .string(since.rfc3339)),
            ("seq", .int(Int64(seq))), ("expiresAt", .string(expiresAt?.rfc3339 ?? "")),
        ])
    }
}
