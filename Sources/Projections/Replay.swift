import HeapModule
import Ledger

/// One step of a replay: an event with the state changes it caused, or a change that time alone
/// caused (a grant expiring, a request going overdue) before the next event.
public struct ReplayStep: Sendable, Equatable {
    /// The event, or `nil` for a change caused by time passing.
    public var event: StoredEvent?
    /// When the step happened: the event's `recordedAt`, or the moment time caused the change.
    public var at: Timestamp
    /// The subject the changes concern.
    public var pseudonym: String
    /// Human-readable changes, such as `newsletter: granted → withdrawn`.
    public var changes: [String]

    /// `{"seq","type","at","subject","changes"}`; seq 0 and type `""` for a change caused by time.
    public var json: JSONValue {
        .object([
            ("seq", .int(Int64(event?.seq ?? 0))), ("type", .string(event?.type.rawValue ?? "")),
            ("at", .string(at.rfc3339)), ("subject", .string(pseudonym)),
            ("changes", .array(changes.map { .string($0) })),
        ])
    }
}

/// Walks the log in order (SPEC §8 `replay`), folding the projection and describing what each
/// event changed. ``step(verifying:)`` checks the chain (``ChainVerifier``) as the events come
/// and folds only events that verify; ``step(_:)`` folds without checking.
public struct Replayer {
    private let rules: ProjectionRules
    /// The chain rule, fed every event given to ``step(verifying:)``.
    public private(set) var chain = ChainVerifier()
    private var projection = LedgerProjection()
    /// Grants with an expiry, soonest first; stale entries are skipped when popped.
    private var expiries = Heap<PendingExpiry>()
    /// Open requests by due date, soonest first; closed or moved ones are skipped when popped.
    private var deadlines = Heap<PendingDeadline>()

    /// A replay from an empty ledger under `rules`.
    public init(rules: ProjectionRules) { self.rules = rules }

    /// Checks `event` against the chain so far, then folds it in.
    /// - Returns: The steps it and the time before it caused, in order.
    /// - Throws: The chain's first failure (``ChainVerifier``); nothing is folded then, nor after.
    public mutating func step(verifying event: StoredEvent) throws(VerificationReport.Failure) -> [ReplayStep] {
        if let failure = chain.check(event) { throw failure }
        return step(event)
    }

    /// Checks `event` against the chain so far without folding it (an event after the end of
    /// the replay, verified all the same).
    /// - Returns: The chain's first failure, or `nil` when the event verifies.
    public mutating func verify(_ event: StoredEvent) -> VerificationReport.Failure? { chain.check(event) }

    /// Records a failure found before the chain rule (an export line that is not a record), so
    /// that ``chain`` reports it.
    public mutating func record(_ failure: VerificationReport.Failure) { chain.record(failure) }

    /// Folds `event` in without checking the chain; returns the steps it and the time before it
    /// caused, in order.
    public mutating func step(_ event: StoredEvent) -> [ReplayStep] {
        var steps = timePassed(until: event.recordedAt)
        let id = Pseudonym(hex: event.subject)
        let before = id.flatMap { projection.subjects[$0] }?.consents(at: event.recordedAt, rules: rules) ?? []
        let requestBefore = projection.requests[event.requestId]
        projection.apply(event, rules: rules)
        var changes: [String] = []
        switch event.type {
        case .consentGranted, .consentWithdrawn, .erasureCompleted:
            let after = id.flatMap { projection.subjects[$0] }?.consents(at: event.recordedAt, rules: rules) ?? []
            let old = Dictionary(uniqueKeysWithValues: before.map { ($0.purpose, $0.status.rawValue) })
            for entry in after where old[entry.purpose] != entry.status.rawValue {
                changes.append("\(entry.purpose): \(old[entry.purpose] ?? "none") → \(entry.status.rawValue)")
                if entry.status == .granted, let expiry = entry.expiresAt {
                    expiries.insert(
                        PendingExpiry(at: expiry, seq: entry.seq, pseudonym: event.subject, purpose: entry.purpose)
                    )
                }
            }
            if changes.isEmpty, event.type != .erasureCompleted {
                changes.append(unchangedStatus(of: event, after: after))
            }
        default:
            break
        }
        if let kind = event.type.opensRequest, let request = projection.requests[event.eventId] {
            changes.append("\(kind.rawValue) request \(event.eventId): opened, due \(request.dueAt.rfc3339)")
            deadlines.insert(PendingDeadline(due: request.dueAt, requestId: event.eventId))
        } else if let request = projection.requests[event.requestId], let previous = requestBefore {
            if previous.status != request.status {
                let was = previous.isOverdue(at: event.recordedAt) ? "overdue" : previous.status.rawValue
                changes.append("request \(event.requestId): \(was) → \(request.status.rawValue)")
            }
            if previous.dueAt != request.dueAt {
                changes.append("request \(event.requestId): due \(previous.dueAt.rfc3339) → \(request.dueAt.rfc3339)")
                deadlines.insert(PendingDeadline(due: request.dueAt, requestId: event.requestId))
            }
        }
        steps.append(ReplayStep(event: event, at: event.recordedAt, pseudonym: event.subject, changes: changes))
        return steps
    }

    /// What a consent event did that left its pair's status as it was: renewed a grant (which may
    /// move its expiry), repeated a withdrawal, or nothing, because an event that occurred later
    /// (backdating this one) still decides.
    private mutating func unchangedStatus(of event: StoredEvent, after: [ConsentEntry]) -> String {
        guard let entry = after.first(where: { $0.purpose == event.purpose }), entry.seq == event.seq else {
            return "\(event.purpose): unchanged (an event that occurred later decides)"
        }
        guard entry.status == .granted else { return "\(event.purpose): \(entry.status.rawValue) (unchanged)" }
        guard let expiry = entry.expiresAt else { return "\(event.purpose): granted → granted (renewed)" }
        // The renewal decides the pair now: its expiry is the one time will reach.
        expiries.insert(PendingExpiry(at: expiry, seq: entry.seq, pseudonym: event.subject, purpose: entry.purpose))
        return "\(event.purpose): granted → granted (renewed, expires \(expiry.rfc3339))"
    }

    /// The changes time alone causes up to `time`: grants expiring and requests going overdue.
    public mutating func timePassed(until time: Timestamp) -> [ReplayStep] {
        var steps: [ReplayStep] = []
        while let first = expiries.min, first.at <= time {
            expiries.removeMin()
            guard let id = Pseudonym(hex: first.pseudonym), let subject = projection.subjects[id],
                subject.erasure == nil,
                let decision = subject.consents[first.purpose], decision.seq == first.seq, decision.granted
            else { continue }
            steps.append(
                ReplayStep(
                    event: nil,
                    at: first.at,
                    pseudonym: first.pseudonym,
                    changes: ["\(first.purpose): granted → expired"]
                )
            )
        }
        while let first = deadlines.min, first.due < time {
            deadlines.removeMin()
            guard let request = projection.requests[first.requestId], request.status == .open,
                request.dueAt == first.due
            else { continue }
            steps.append(
                ReplayStep(
                    event: nil,
                    at: first.due,
                    pseudonym: request.pseudonym,
                    changes: ["request \(first.requestId): open → overdue"]
                )
            )
        }
        return steps.sorted { $0.at < $1.at }
    }
}

/// A grant that expires at `at` unless a later event decides its pair first.
struct PendingExpiry: Comparable {
    var at: Timestamp
    var seq: UInt64
    var pseudonym: String
    var purpose: String

    static func < (lhs: Self, rhs: Self) -> Bool { (lhs.at, lhs.seq, lhs.purpose) < (rhs.at, rhs.seq, rhs.purpose) }
}

/// A request due at `due` unless it is closed or extended first.
struct PendingDeadline: Comparable {
    var due: Timestamp
    var requestId: String

    static func < (lhs: Self, rhs: Self) -> Bool { (lhs.due, lhs.requestId) < (rhs.due, rhs.requestId) }
}
