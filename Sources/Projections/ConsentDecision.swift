import Ledger

/// The consent event that decides a (subject, purpose) pair: the one with the greatest
/// (`occurredAt`, `seq`) (SPEC §5), so a back-dated paper consent lands where it belongs.
public struct ConsentDecision: Sendable, Equatable {
    /// `true` for `consent.granted`, `false` for `consent.withdrawn`.
    public var granted: Bool
    /// The deciding event's `occurredAt`.
    public var occurredAt: Timestamp
    /// The deciding event's seq.
    public var seq: UInt64
    /// The grant's own `expiresAt`, if it named one.
    public var expiresAt: Timestamp?

    /// Whether `other` decides instead of this one.
    func isSuperseded(by other: ConsentDecision) -> Bool {
        (other.occurredAt, other.seq) > (occurredAt, seq)
    }
}

extension ConsentDecision {
    /// The decision a `consent.granted` or `consent.withdrawn` event makes (a grant's own
    /// `expiresAt` kept, a withdrawal's ignored); `nil` for every other type.
    init?(_ event: EventSummary) {
        guard event.type == .consentGranted || event.type == .consentWithdrawn else { return nil }
        self.init(
            granted: event.type == .consentGranted,
            occurredAt: event.occurredAt,
            seq: event.seq,
            expiresAt: event.type == .consentGranted ? event.expiresAt : nil
        )
    }
}
