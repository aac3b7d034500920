import Ledger

/// The whole ledger's projected state after some prefix of the log: every subject's consent
/// decisions and erasure, and every request. A pure fold (`apply`), tested without LMDB; its
/// evaluation at a time is in ``LedgerProjection/consentState(at:rules:)`` and friends.
public struct LedgerProjection: Sendable, Equatable {
    /// The number of events folded in (the seq of the last one).
    public internal(set) var throughSeq: UInt64 = 0
    /// Subjects by pseudonym.
    public var subjects: [Pseudonym: SubjectProjection] = [:]
    /// Requests by request id.
    public var requests: [String: RequestProjection] = [:]

    /// The state of an empty ledger.
    public init() {}

    /// Folds in the next event of the log.
    public mutating func apply(_ event: StoredEvent, rules: ProjectionRules) {
        if let summary = EventSummary(event) { apply(summary, rules: rules) }
    }

    /// Folds in the next event of the log, from its summary.
    public mutating func apply(_ event: EventSummary, rules: ProjectionRules) {
        throughSeq = event.seq
        switch event.type {
        case .consentGranted, .consentWithdrawn, .erasureCompleted:
            subjects[event.subject, default: SubjectProjection()].apply(event)
        default:
            break
        }
        if let kind = event.type.opensRequest {
            requests[event.eventId] = RequestProjection(
                requestId: event.eventId,
                kind: kind,
                pseudonym: event.subject.hex,
                openedAt: event.occurredAt,
                dueAt: event.occurredAt.adding(days: rules.requestDeadlineDays),
                status: .open,
                closedAt: nil
            )
        } else if let outcome = event.type.closingOutcome, !event.requestId.isEmpty,
            var request = requests[event.requestId]
        {
            request.status = outcome == .completed ? .completed : .rejected
            request.closedAt = event.occurredAt
            requests[event.requestId] = request
        } else if event.type == .requestExtended, var request = requests[event.requestId], let due = event.expiresAt {
            request.dueAt = due
            requests[event.requestId] = request
        }
    }

    // MARK: Evaluation at a time

    /// Every subject's consent entries at `time`, by pseudonym in order.
    public func consentState(
        at time: Timestamp,
        rules: ProjectionRules
    ) -> [(pseudonym: String, erased: Bool, consents: [ConsentEntry])] {
        subjects.keys.sorted().compactMap { id in
            guard let subject = subjects[id] else { return nil }
            return (id.hex, subject.erasure != nil, subject.consents(at: time, rules: rules))
        }
    }

    /// The catalogue's purposes with the number of (subject, purpose) pairs in each status at `time`.
    public func purposeCounts(at time: Timestamp, catalogue: Catalogue) -> [PurposeCount] {
        var tally = PurposeTally(at: time, rules: ProjectionRules(catalogue: catalogue))
        for subject in subjects.values { subject.tally(into: &tally) }
        return tally.counts(catalogue: catalogue)
    }

    /// The requests at `time` that `filter` selects, by `openedAt` then id.
    public func requests(at time: Timestamp, filter: RequestFilter) -> [RequestProjection] {
        requests.values.filter { request in
            switch filter {
            case .open: return request.status == .open
            case .overdue: return request.isOverdue(at: time)
            case .all: return true
            }
        }.sorted { ($0.openedAt, $0.requestId) < ($1.openedAt, $1.requestId) }
    }
}

/// Which requests a listing shows (SPEC §7 `GET /v1/requests?status=`).
public enum RequestFilter: String, Sendable, CaseIterable {
    case open, overdue, all
}

/// Counts (subject, purpose) pairs by their status at one time: the one count behind every
/// ``PurposeCount``, whether the pairs come from a decoded projection or straight from a
/// snapshot's bytes (``SnapshotSplicer/purposeCounts(at:catalogue:)``, a million pairs at a time,
/// so each purpose's TTL is looked up once, not once a pair).
struct PurposeTally {
    private struct Counts {
        let purpose: String
        let utf8: [UInt8]
        let ttlDays: Int?
        var granted = 0
        var withdrawn = 0
        var expired = 0
        var erased = 0
    }

    private let time: Timestamp
    private let rules: ProjectionRules
    /// One entry per purpose met, found by a linear search: a catalogue has a handful of
    /// purposes, and comparing a few short byte strings is cheaper than hashing one.
    private var purposes: [Counts] = []
    /// The entry the previous pair was counted in.
    private var last = 0

    /// An empty tally of the pairs' statuses at `time`.
    init(at time: Timestamp, rules: ProjectionRules) {
        self.time = time
        self.rules = rules
    }

    /// Counts one pair: `decision` for `purpose`, of an erased subject or not.
    mutating func add(_ decision: ConsentDecision, purpose: String, erased: Bool) {
        var purpose = purpose
        purpose.withUTF8 { add(decision, purpose: UnsafeRawBufferPointer($0), erased: erased) }
    }

    /// Counts one pair whose purpose id is the UTF-8 bytes `purpose`.
    mutating func add(_ decision: ConsentDecision, purpose: UnsafeRawBufferPointer, erased: Bool) {
        let index = entry(for: purpose)
        let status = SubjectProjection.status(of: decision, ttlDays: purposes[index].ttlDays, erased: erased, at: time)
        switch status.status {
        case .granted: purposes[index].granted += 1
        case .withdrawn: purposes[index].withdrawn += 1
        case .expired: purposes[index].expired += 1
        case .erased: purposes[index].erased += 1
        }
    }

    private mutating func entry(for purpose: UnsafeRawBufferPointer) -> Int {
        if last < purposes.count, purposes[last].utf8.elementsEqual(purpose) { return last }
        if let found = purposes.firstIndex(where: { $0.utf8.elementsEqual(purpose) }) {
            last = found
            return found
        }
        let id = String(decoding: purpose, as: UTF8.self)
        purposes.append(Counts(purpose: id, utf8: Array(purpose), ttlDays: rules.consentTTLDays[id]))
        last = purposes.count - 1
        return last
    }

    /// The catalogue's purposes, in its order, with their counts (zero for a purpose no pair has;
    /// pairs of a purpose the catalogue no longer lists are not shown).
    func counts(catalogue: Catalogue) -> [PurposeCount] {
        catalogue.purposes.map { purpose in
            let counts = purposes.first { $0.purpose == purpose.id }
            return PurposeCount(
                id: purpose.id,
                basis: purpose.basis.rawValue,
                granted: counts?.granted ?? 0,
                withdrawn: counts?.withdrawn ?? 0,
                expired: counts?.expired ?? 0,
                erased: counts?.erased ?? 0
            )
        }
    }
}

/// One purpose's anonymous counts of (subject, purpose) pairs by status (SPEC §5 "Purposes").
public struct PurposeCount: Sendable, Equatable {
    /// The purpose id.
    public var id: String
    /// Its legal basis.
    public var basis: String
    /// (Subject, purpose) pairs whose consent stands.
    public var granted: Int
    /// Pairs whose consent was withdrawn.
    public var withdrawn: Int
    /// Pairs whose grant lapsed.
    public var expired: Int
    /// Pairs of erased subjects that had a decision for it.
    public var erased: Int

    /// `{"id","basis","granted","withdrawn","expired","erased"}`.
    public var json: JSONValue {
        .object([
            ("id", .string(id)), ("basis", .string(basis)), ("granted", .int(Int64(granted))),
            ("withdrawn", .int(Int64(withdrawn))), ("expired", .int(Int64(expired))), ("erased", .int(Int64(erased))),
        ])
    }
}
