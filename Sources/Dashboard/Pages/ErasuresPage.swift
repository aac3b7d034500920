import Ledger
import Projections

/// Erasures (`/erasures`) at a time: every subject erased by then — crypto-shredded: its key
/// overwritten, its events left in the chain — and, for an erasure that answered an erasure
/// request, the time from the request to the shred.
///
/// The shred's time is that of the `erasure.completed` event, which the ledger appends itself and
/// then, at once, overwrites the subject's key slot (`ledgerctl erase`, or the server's erasure
/// queue); the request's is its `erasure.requested` event's `occurredAt`. An erasure answers a
/// request when its event closed it (`requestId`); subjects erased without one (a retention rule)
/// have no request time.
package struct ErasuresPage: Sendable, Equatable {
    /// One erased subject.
    package struct Row: Sendable, Equatable {
        /// The subject's pseudonym.
        package var pseudonym: String
        /// The `erasure.completed` event's seq.
        package var seq: UInt64
        /// When the key was shredded.
        package var erasedAt: Timestamp
        /// The erasure request it answered, if any.
        package var requestId: String?
        /// When that request was made.
        package var requestedAt: Timestamp?

        /// A row from its fields.
        package init(pseudonym: String, seq: UInt64, erasedAt: Timestamp, requestId: String?, requestedAt: Timestamp?) {
            self.pseudonym = pseudonym
            self.seq = seq
            self.erasedAt = erasedAt
            self.requestId = requestId
            self.requestedAt = requestedAt
        }

        /// Milliseconds from the request to the shred, for an erasure that answered one (0 for a
        /// request that said it was made up to the 5 minutes' tolerance after its erasure).
        package var millisecondsToShred: Int64? { requestedAt.map { max(0, erasedAt.milliseconds(since: $0)) } }
    }

    /// The time the page shows.
    package var asOf: Timestamp
    /// Every subject erased by then, in the order of their erasures.
    package var rows: [Row]
    /// Erasure requests still open then.
    package var openRequests: Int
    /// Erasure requests rejected by then.
    package var rejectedRequests: Int

    /// Erasures by then.
    package var erasures: Int { rows.count }
    /// The request-to-shred times of the erasures that answered a request, shortest first.
    package var timesToShred: [Int64] { rows.compactMap(\.millisecondsToShred).sorted() }
    /// The median of ``timesToShred`` (the mean of the middle two for an even count), `nil` for none.
    package var medianToShred: Int64? {
        let times = timesToShred
        guard !times.isEmpty else { return nil }
        let middle = times.count / 2
        return times.count % 2 == 1 ? times[middle] : (times[middle - 1] + times[middle]) / 2
    }
    /// The longest of ``timesToShred``.
    package var longestToShred: Int64? { timesToShred.last }

    /// The page at `asOf` from `fold`, the fold of the events recorded by then.
    package init(fold: LedgerFold, asOf: Timestamp) {
        self.asOf = asOf
        let erasureRequests = fold.projection.requests.values.filter { $0.kind == .erasure }
        // A subject is erased once: the completed erasure request of its pseudonym closed at the
        // erasure's time is the one its event answered.
        var answered: [String: RequestProjection] = [:]
        for request in erasureRequests where request.status == .completed { answered[request.pseudonym] = request }
        rows = fold.projection.subjects.compactMap { subject, projection in
            guard let erasure = projection.erasure else { return nil }
            let pseudonym = subject.hex
            let request = answered[pseudonym].flatMap { $0.closedAt == erasure.occurredAt ? $0 : nil }
            return Row(
                pseudonym: pseudonym,
                seq: erasure.seq,
                erasedAt: erasure.occurredAt,
                requestId: request?.requestId,
                requestedAt: request?.openedAt
            )
        }.sorted { $0.seq < $1.seq }
        openRequests = erasureRequests.count { $0.status == .open }
        rejectedRequests = erasureRequests.count { $0.status == .rejected }
    }

    /// Reads the page from `ledger` as of `asOf`, folding the log up to then.
    /// - Warning: Folds the log: call it off the request threads.
    package static func load(from ledger: Ledger, asOf: Timestamp) throws -> ErasuresPage {
        ErasuresPage(fold: try LedgerFold.read(from: ledger, asOf: asOf), asOf: asOf)
    }
}
