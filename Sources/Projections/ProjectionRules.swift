import Ledger

/// The catalogue settings the folds and their evaluation depend on: the request deadline, and
/// each consent purpose's TTL.
public struct ProjectionRules: Sendable {
    /// Days from a request's `occurredAt` to its due date.
    public var requestDeadlineDays: Int
    /// Consent TTL in days by purpose id, for grants without `expiresAt`.
    public var consentTTLDays: [String: Int]

    /// The rules of `catalogue`.
    public init(catalogue: Catalogue) {
        requestDeadlineDays = catalogue.requestDeadlineDays
        var ttl: [String: Int] = [:]
        for purpose in catalogue.purposes { if let days = purpose.consentTTLDays { ttl[purpose.id] = days } }
        consentTTLDays = ttl
    }
}
