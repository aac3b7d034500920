import Ledger

/// Consent grants, withdrawals and expiries per purpose in each of the 12 weeks before a time.
/// Grants and withdrawals are the events that happened in the week (`occurredAt`) among those the
/// ledger had recorded by then; expiries are the (subject, purpose) pairs expired at the time,
/// counted in the week their grant lapsed (its `expiresAt`, or its purpose's TTL after it), so
/// that over all weeks they add up to the purpose's expired count.
///
/// Week 11 is the 7 days that end at the time, week 10 the 7 days before, and so on: week `i`
/// holds the events with `occurredAt` in (time − (12 − i)·7 days, time − (11 − i)·7 days].
package struct WeeklyActivity: Sendable, Equatable {
    /// The number of weeks counted.
    package static let weeks = 12
    private static let weekMilliseconds: Int64 = 7 * 86_400_000

    /// The end of the last week.
    package let asOf: Timestamp
    /// Grants per week (oldest first), by purpose id.
    package private(set) var grants: [String: [Int]] = [:]
    /// Withdrawals per week (oldest first), by purpose id.
    package private(set) var withdrawals: [String: [Int]] = [:]
    /// Expiries per week (oldest first), by purpose id.
    package private(set) var expiries: [String: [Int]] = [:]

    /// No events counted yet, in the 12 weeks up to `asOf`.
    package init(asOf: Timestamp) { self.asOf = asOf }

    /// The first moment of week `index` (0 the oldest).
    package func start(ofWeek index: Int) -> Timestamp {
        Timestamp(milliseconds: asOf.milliseconds - Int64(Self.weeks - index) * Self.weekMilliseconds + 1)
    }

    /// The week `time` falls in, if it is one of the 12.
    package func week(of time: Timestamp) -> Int? {
        let before = asOf.milliseconds(since: time)
        guard before >= 0 else { return nil }
        let weeksBack = before / Self.weekMilliseconds
        return weeksBack < Int64(Self.weeks) ? Self.weeks - 1 - Int(weeksBack) : nil
    }

    /// Counts one event: a grant or a withdrawal in one of the weeks; any other is ignored.
    package mutating func count(_ event: EventSummary) {
        guard event.type.isConsent, let week = week(of: event.occurredAt) else { return }
        if event.type == .consentGranted {
            grants[event.purpose, default: Array(repeating: 0, count: Self.weeks)][week] += 1
        } else {
            withdrawals[event.purpose, default: Array(repeating: 0, count: Self.weeks)][week] += 1
        }
    }

    /// Counts a pair of `purpose` whose grant lapsed at `time`, if that is in one of the weeks.
    package mutating func countExpiry(of purpose: String, at time: Timestamp) {
        guard let week = week(of: time) else { return }
        expiries[purpose, default: Array(repeating: 0, count: Self.weeks)][week] += 1
    }

    /// The 12 weeks' grants of `purpose` (zeros when it had none).
    package func grants(of purpose: String) -> [Int] { grants[purpose] ?? Array(repeating: 0, count: Self.weeks) }

    /// The 12 weeks' withdrawals of `purpose` (zeros when it had none).
    package func withdrawals(of purpose: String) -> [Int] {
        withdrawals[purpose] ?? Array(repeating: 0, count: Self.weeks)
    }

    /// The 12 weeks' expiries of `purpose` (zeros when it had none).
    package func expiries(of purpose: String) -> [Int] { expiries[purpose] ?? Array(repeating: 0, count: Self.weeks) }

    /// Counts the grants and withdrawals of the weeks before `asOf` from `ledger`, reading only the events recorded from the
    /// first week's start on (an event cannot have happened more than the ledger's tolerance
    /// after it was recorded), up to the last recorded by `asOf`.
    /// - Warning: Reads the log: call it off the request threads.
    package static func read(from ledger: Ledger, asOf: Timestamp) throws -> WeeklyActivity {
        var activity = WeeklyActivity(asOf: asOf)
        let earliest = activity.start(ofWeek: 0).adding(minutes: -Ledger.occurredAtTolerance - 1)
        var next = try ledger.prefixLength(asOf: earliest) + 1
        let last = try ledger.prefixLength(asOf: asOf)
        // In read transactions of at most ``LedgerFold/eventsPerRead`` events, as the fold reads:
        // a long one would hold back a writer that must grow a full map.
        while next <= last {
            let end = min(last, next + LedgerFold.eventsPerRead - 1)
            try ledger.forEachSummary(from: next, through: end) { activity.count($0) }
            next = end + 1
        }
        return activity
    }
}
