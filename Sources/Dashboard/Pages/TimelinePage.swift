import Ledger
import Projections

/// One request's timeline (`/requests/<id>`): its events as the log holds them — seq, type,
/// actor and times — and its state as of the page's time. Nothing is decrypted: payloads are
/// neither read nor shown.
package struct TimelinePage: Sendable, Equatable {
    /// One event of the request.
    package struct Entry: Sendable, Equatable {
        /// Its position in the log.
        package var seq: UInt64
        /// Its type, such as `access.requested`.
        package var type: EventType
        /// Who appended it (a client's name, stored in clear).
        package var actor: String
        /// When it happened, as its client said.
        package var occurredAt: Timestamp
        /// When the ledger recorded it.
        package var recordedAt: Timestamp
    }

    /// The time the page shows.
    package var asOf: Timestamp
    /// The request's state as of that time, from the request projection's own fold.
    package var request: RequestProjection
    /// Whole days left before its due date (negative once overdue), as the clock counts them.
    package var daysLeft: Int
    /// The events recorded by then: the one that opened it, then any extension and the one that
    /// closed it, in log order.
    package var entries: [Entry]

    /// Reads the request `requestId` as of `asOf` from `ledger`, whose fold of the events recorded
    /// by then is `fold`: its subject's events through the per-subject index.
    /// - Returns: `nil` when no such request had been recorded by then.
    /// - Throws: ``LedgerError`` when the ledger cannot be read.
    package static func load(
        from ledger: Ledger,
        fold: LedgerFold,
        requestId: String,
        asOf: Timestamp
    ) throws -> TimelinePage? {
        guard Self.isRequestId(requestId), let request = fold.projection.requests[requestId] else { return nil }
        let events = try ledger.subjectEvents(pseudonym: request.pseudonym, asOf: asOf).filter {
            $0.eventId == requestId || $0.requestId == requestId
        }
        return TimelinePage(events: events, requestId: requestId, rules: fold.rules, asOf: asOf)
    }

    /// Reads the request `requestId` from `ledger` as of `asOf`, folding the log up to then.
    /// - Returns: `nil` when no such request had been recorded by then.
    /// - Warning: Folds the log: call it off the request threads.
    package static func load(from ledger: Ledger, requestId: String, asOf: Timestamp) throws -> TimelinePage? {
        try load(from: ledger, fold: try LedgerFold.read(from: ledger, asOf: asOf), requestId: requestId, asOf: asOf)
    }

    /// The page for a request's `events`, folded with the projections' own rules.
    /// - Returns: `nil` when none of them opens the request.
    package init?(events: [StoredEvent], requestId: String, rules: ProjectionRules, asOf: Timestamp) {
        var fold = LedgerProjection()
        for event in events { fold.apply(event, rules: rules) }
        guard let request = fold.requests[requestId] else { return nil }
        self.asOf = asOf
        self.request = request
        daysLeft = ClockPage.daysLeft(until: request.dueAt, at: asOf)
        entries = events.map {
            Entry(seq: $0.seq, type: $0.type, actor: $0.actor, occurredAt: $0.occurredAt, recordedAt: $0.recordedAt)
        }
    }

    /// Whether `text` has the form of a request id: a UUID in lower case, as the ledger writes them.
    package static func isRequestId(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard (48...57).contains(byte) || (97...102).contains(byte) else { return false }
            }
        }
        return true
    }
}
