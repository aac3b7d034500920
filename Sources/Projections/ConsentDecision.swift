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
