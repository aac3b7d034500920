import Ledger
import Projections

/// The statutory clock (`/`): every request open at a time, with the days left before its due
/// date, from the request projection as of that time, so an extension moves the clock.
///
/// Requests are named by id, kind and pseudonym only, never by external id.
package struct ClockPage: Sendable, Equatable {
    /// How close an open request is to its due date, as the table colours it.
    package enum Urgency: String, Sendable, Equatable {
        /// 10 days or more left.
        case green
        /// Fewer than 10 days left.
        case amber
        /// Fewer than 5 days left.
        case red
        /// Past its due date.
        case overdue

        /// The urgency of a request with `daysLeft` whole days left (negative once overdue).
        package init(daysLeft: Int) {
            if daysLeft < 0 {
                self = .overdue
            } else if daysLeft < 5 {
                self = .red
            } else {
                self = daysLeft < 10 ? .amber : .green
            }
        }
    }

    /// One open request.
    package struct Row: Sendable, Equatable {
        /// The request's id (its `*.requested` event's id).
        package var requestId: String
        /// Access, correction or erasure.
        package var kind: RequestKind
        /// The subject's pseudonym.
        package var pseudonym: String
        /// When it was made (`occurredAt`).
        package var openedAt: Timestamp
        /// When it is due, as extended by then.
        package var dueAt: Timestamp
        /// Whole days from the page's time to the due date, rounded down; negative once overdue
        /// (−1 within the first day past it).
        package var daysLeft: Int
        /// The extension that moved its due date by the page's time, if one did.
        package var dueDateExtension: LedgerFold.Extension?

        /// Whether an extension moved its due date by the page's time.
        package var extended: Bool { dueDateExtension != nil }

        /// Its colour in the table.
        package var urgency: Urgency { Urgency(daysLeft: daysLeft) }
    }

    /// The order of the table, by days left (`?sort=`).
    package enum Order: String, Sendable, CaseIterable {
        /// Fewest days left first (the default): by due date, then request id.
        case fewestDaysLeftFirst = "daysLeft"
        /// Most days left first: the same order reversed.
        case mostDaysLeftFirst = "-daysLeft"

        /// The order a `sort` query value names; the default for none or an empty one.
        /// - Throws: ``DashboardError`` `invalid_field` for any other value (never repeated).
        package init(parsing text: String?) throws(DashboardError) {
            guard let text, !text.isEmpty else {
                self = .fewestDaysLeftFirst
                return
            }
            guard let order = Order(rawValue: text) else {
                throw DashboardError(.invalidField, "sort must be daysLeft (fewest days left first) or -daysLeft")
            }
            self = order
        }
    }

    /// Requests with more than this many days left are on time; the others are due soon.
    package static let dueSoonDays = 5

    /// The time the page shows.
    package var asOf: Timestamp
    /// The open requests, most urgent first (by due date, then id).
    package var rows: [Row]

    /// Open requests with more than five days left.
    package var onTime: Int { rows.count { $0.daysLeft > Self.dueSoonDays } }
    /// Open requests with five days or fewer left, not yet overdue.
    package var dueSoon: Int { rows.count { (0...Self.dueSoonDays).contains($0.daysLeft) } }
    /// Open requests past their due date.
    package var overdue: Int { rows.count { $0.daysLeft < 0 } }

    /// The page for `requests` (the projection's, at `asOf`); `extensions` are those the fold of
    /// the same events holds, by request id.
    package init(requests: [RequestProjection], extensions: [String: LedgerFold.Extension], asOf: Timestamp) {
        self.asOf = asOf
        rows = requests.filter { $0.status == .open }.map { request in
            Row(
                requestId: request.requestId,
                kind: request.kind,
                pseudonym: request.pseudonym,
                openedAt: request.openedAt,
                dueAt: request.dueAt,
                daysLeft: Self.daysLeft(until: request.dueAt, at: asOf),
                dueDateExtension: extensions[request.requestId]
            )
        }.sorted { ($0.dueAt, $0.requestId) < ($1.dueAt, $1.requestId) }
    }

    /// The page at `asOf` from `fold`, the fold of the events recorded by then.
    package init(fold: LedgerFold, asOf: Timestamp) {
        self.init(requests: fold.projection.requests(at: asOf, filter: .open), extensions: fold.extensions, asOf: asOf)
    }

    /// The same page with its rows in `order`.
    package func sorted(_ order: Order) -> ClockPage {
        var page = self
        if order == .mostDaysLeftFirst { page.rows.reverse() }
        return page
    }

    /// Reads the page from `ledger` as of `asOf`, folding the log up to then.
    /// - Warning: Folds the log: call it off the request threads (the dashboard's routes use
    ///   ``PageCache``, which keeps the fold).
    package static func load(from ledger: Ledger, asOf: Timestamp) throws -> ClockPage {
        ClockPage(fold: try LedgerFold.read(from: ledger, asOf: asOf), asOf: asOf)
    }

    /// Whole days from `time` to `due`, rounded down (towards the past once `time` is after `due`).
    package static func daysLeft(until due: Timestamp, at time: Timestamp) -> Int {
        let day: Int64 = 86_400_000
        // Saturating: a damaged record's time must not trap the server.
        let difference = due.milliseconds(since: time)
        let days = difference >= 0 ? difference / day : (difference + 1) / day - 1
        return Int(clamping: days)
    }
}
