import Ledger

/// The moment a page shows the ledger at: now, or the `asOf` the person asked for (SPEC §5: what
/// the ledger knew then, the events recorded by that time).
///
/// `asOf` is an RFC 3339 date-time (`2025-06-30T12:00:00Z`, any offset) or a date
/// (`2025-06-30`), which means the end of that day in UTC (`2025-06-30T23:59:59.999Z`): the
/// ledger as it stood once the day was over.
package struct AsOf: Sendable, Equatable {
    /// The time the page is computed at.
    package let time: Timestamp
    /// The value links carry to keep the same moment: the date as given, or the date-time in UTC;
    /// `nil` for now (links then follow the clock).
    package let queryValue: String?

    /// Now, as `now` says.
    package init(now: Timestamp) { self.init(time: now, queryValue: nil) }

    private init(time: Timestamp, queryValue: String?) {
        self.time = time
        self.queryValue = queryValue
    }

    /// The `asOf` of a query: now when absent or empty (a date field left blank).
    /// - Throws: ``DashboardError`` `invalid_field` for anything that is not a date-time or a date.
    package init(parsing text: String?, now: Timestamp) throws(DashboardError) {
        guard let text, !text.isEmpty else {
            self.init(now: now)
            return
        }
        if text.utf8.count == 10, let endOfDay = Timestamp(rfc3339: text + "T23:59:59.999Z") {
            self.init(time: endOfDay, queryValue: text)
        } else if let time = Timestamp(rfc3339: text) {
            self.init(time: time, queryValue: time.rfc3339)
        } else {
            throw Self.malformed
        }
    }

    /// The refusal of a malformed `asOf`; it never repeats the value given.
    package static let malformed = DashboardError(
        .invalidField,
        "asOf must be an RFC 3339 date-time (2025-06-30T12:00:00Z) or a date (2025-06-30)"
    )

    /// The UTC date of ``time``, `YYYY-MM-DD`, for the date field.
    package var date: String { String(time.rfc3339.prefix(10)) }

    /// `?asOf=…` to append to a link, or `""` for now. The value holds only digits, `-`, `:`, `.`,
    /// `T` and `Z`, none of which a query string must escape.
    package var query: String { queryValue.map { "?asOf=" + $0 } ?? "" }
}
