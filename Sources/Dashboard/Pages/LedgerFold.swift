import Ledger
import Projections

/// The ledger's state after its first ``throughSeq`` events, as the dashboard's pages need it: the
/// projections' own fold (``LedgerProjection``: every (subject, purpose) pair's deciding consent
/// event, every erasure, every request), each extension with the due date it moved, and the notice
/// version each pair's decision was made under.
///
/// A pure fold of the log in seq order that knows nothing of time: the pages evaluate it at their
/// moment. The dashboard builds one once and then only extends it with the events recorded since
/// (``PageCache``); it is never folded again for a view.
package struct LedgerFold: Sendable {
    /// An extension of a request's due date.
    package struct Extension: Sendable, Equatable {
        /// When the `request.extended` event happened.
        package var extendedAt: Timestamp
        /// The due date before it: the request's deadline from when it was made.
        package var originalDueAt: Timestamp
    }

    /// A pair's consent decision, with the notice version it names.
    private struct Decision: Sendable {
        var occurredAt: Timestamp
        var seq: UInt64
        var granted: Bool
        var notice: String

        /// Whether `other` decides the pair instead of this one: the projections' order, the
        /// greatest (`occurredAt`, `seq`) decides (SPEC §5).
        func isSuperseded(by other: Decision) -> Bool { (other.occurredAt, other.seq) > (occurredAt, seq) }
    }

    /// The two greatest decisions of a pair: the deciding one, and the one before it in the
    /// projections' order (all a withdrawal's notice may need). Two suffice however late a
    /// back-dated decision is recorded: it can only become the deciding one or the one before it.
    private struct DecisionPair: Sendable {
        var deciding: Decision
        var prior: Decision?
    }

    /// A (subject, purpose) pair.
    private struct Pair: Hashable, Sendable {
        var subject: Pseudonym
        var purpose: String
    }

    /// How many events one read transaction folds, so that folding a large log never holds one
    /// read transaction (and the pages it pins) for long.
    package static let eventsPerRead: UInt64 = 100_000

    /// The rules of the catalogue it was folded with.
    package let rules: ProjectionRules
    /// The number of events folded in: those with seq 1 through this.
    package private(set) var throughSeq: UInt64 = 0
    /// The projections' fold of those events.
    package private(set) var projection = LedgerProjection()
    /// The extensions, by request id.
    package private(set) var extensions: [String: Extension] = [:]
    private var decisions: [Pair: DecisionPair] = [:]

    /// The state of an empty log, to be folded with `rules`.
    package init(rules: ProjectionRules) { self.rules = rules }

    /// The fold of the events `ledger` had recorded by `asOf`.
    /// - Warning: Reads the whole log up to then: call it off the request threads.
    package static func read(from ledger: Ledger, asOf: Timestamp) throws -> LedgerFold {
        var fold = LedgerFold(rules: try ledger.projectionRules())
        try fold.advance(through: try ledger.prefixLength(asOf: asOf), in: ledger)
        return fold
    }

    /// Folds in the events after ``throughSeq`` through `length`, in read transactions of at most
    /// ``eventsPerRead`` events.
    /// - Throws: ``LedgerError`` when the log cannot be read; `ledger_corrupt` when it lacks one of
    ///   those events.
    package mutating func advance(through length: UInt64, in ledger: Ledger) throws {
        while throughSeq < length {
            let last = min(length, throughSeq + Self.eventsPerRead)
            try ledger.forEachEvent(from: throughSeq + 1, through: last) { apply($0) }
            guard throughSeq == last else {
                throw LedgerError(.ledgerCorrupt, "the log has no event \(throughSeq + 1) (run `ledgerctl verify`)")
            }
        }
    }

    /// Folds in the next event of the log.
    package mutating func apply(_ event: StoredEvent) {
        defer { throughSeq = event.seq }
        guard let summary = EventSummary(event) else { return }
        if summary.type.isConsent {
            remember(summary, notice: event.notice)
        } else if summary.type == .requestExtended, summary.expiresAt != nil,
            let request = projection.requests[summary.requestId]
        {
            extensions[summary.requestId] = Extension(
                extendedAt: summary.occurredAt,
                originalDueAt: extensions[summary.requestId]?.originalDueAt ?? request.dueAt
            )
        }
        projection.apply(summary, rules: rules)
    }

    /// The notice version the pair's decision was made under, by the rule of consent records
    /// (``ConsentRecord``): a grant's own; for a withdrawal, its own if it names one, else that of
    /// the grant just before it; `nil` when there is none (a purpose without notices, a withdrawal
    /// with no grant before it).
    package func notice(of subject: Pseudonym, purpose: String) -> String? {
        guard let pair = decisions[Pair(subject: subject, purpose: purpose)] else { return nil }
        let deciding = pair.deciding
        if deciding.granted || !deciding.notice.isEmpty { return deciding.notice.isEmpty ? nil : deciding.notice }
        guard let prior = pair.prior, prior.granted, !prior.notice.isEmpty else { return nil }
        return prior.notice
    }

    /// Keeps the two greatest decisions of the event's pair.
    private mutating func remember(_ event: EventSummary, notice: String) {
        let decision = Decision(
            occurredAt: event.occurredAt,
            seq: event.seq,
            granted: event.type == .consentGranted,
            notice: notice
        )
        let pair = Pair(subject: event.subject, purpose: event.purpose)
        guard var known = decisions[pair] else {
            decisions[pair] = DecisionPair(deciding: decision, prior: nil)
            return
        }
        if known.deciding.isSuperseded(by: decision) {
            known = DecisionPair(deciding: decision, prior: known.deciding)
        } else if known.prior.map({ $0.isSuperseded(by: decision) }) ?? true {
            known.prior = decision
        }
        decisions[pair] = known
    }
}
