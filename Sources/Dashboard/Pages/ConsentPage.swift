import Ledger
import Projections

/// Consent (`/consent`) at a time: for each purpose of the catalogue, in its order, the anonymous
/// counts of (subject, purpose) pairs by status, the opt-in rate overall and by notice version,
/// and the grants, withdrawals and expiries of the 12 weeks before that time; then every consent
/// that lapses in the 30 days after it.
///
/// **The opt-in rate** is the share of the pairs still deciding — granted, withdrawn or expired;
/// erased subjects no longer count — whose consent stands: granted ÷ (granted + withdrawn +
/// expired). **By notice version** it is the same rate among the pairs whose deciding decision was
/// made under that version: a grant's own notice, a withdrawal's that of the grant it withdrew
/// (the rule of consent records, ``LedgerFold/notice(of:purpose:)``). Each purpose's versions add
/// up to its counts.
package struct ConsentPage: Sendable, Equatable {
    /// Pairs by status, and the share of them granted.
    package struct Tally: Sendable, Equatable {
        /// Pairs whose consent stands.
        package var granted = 0
        /// Pairs whose consent was withdrawn.
        package var withdrawn = 0
        /// Pairs whose grant lapsed.
        package var expired = 0

        /// Granted ÷ (granted + withdrawn + expired); `nil` when there are none.
        package var optInRate: Double? {
            let deciding = granted + withdrawn + expired
            return deciding == 0 ? nil : Double(granted) / Double(deciding)
        }

        /// Counts one pair of `status` (an erased one is not counted).
        mutating func add(_ status: ConsentStatus) {
            switch status {
            case .granted: granted += 1
            case .withdrawn: withdrawn += 1
            case .expired: expired += 1
            case .erased: break
            }
        }
    }

    /// A purpose's pairs decided under one notice version.
    package struct NoticeRow: Sendable, Equatable {
        /// The notice version; `nil` for decisions made under none.
        package var version: String?
        /// Their counts and rate.
        package var tally: Tally
    }

    /// One purpose's row.
    package struct Purpose: Sendable, Equatable {
        /// The purpose's counts (``PurposeCount``: id, basis, granted, withdrawn, expired, erased).
        package var counts: PurposeCount
        /// Its English title, or its id when the catalogue gives none.
        package var title: String
        /// Grants per week, oldest first (``WeeklyActivity``).
        package var weeklyGrants: [Int]
        /// Withdrawals per week, oldest first.
        package var weeklyWithdrawals: [Int]
        /// Expiries per week, oldest first.
        package var weeklyExpiries: [Int]
        /// The pairs by notice version: the catalogue's versions of the purpose in its order, then
        /// any other version decisions name, then decisions under none.
        package var notices: [NoticeRow]

        /// The purpose's opt-in rate (``Tally/optInRate``).
        package var optInRate: Double? {
            Tally(granted: counts.granted, withdrawn: counts.withdrawn, expired: counts.expired).optInRate
        }
    }

    /// A consent that lapses within ``expiringDays`` after the page's time.
    package struct Expiring: Sendable, Equatable {
        /// The subject's pseudonym.
        package var pseudonym: String
        /// The purpose id.
        package var purpose: String
        /// The notice version it was granted under, if any.
        package var notice: String?
        /// When it was granted (the deciding grant's `occurredAt`).
        package var grantedAt: Timestamp
        /// When it lapses: its own `expiresAt`, or its purpose's TTL after the grant.
        package var expiresAt: Timestamp
        /// Whole days from the page's time to then, rounded down.
        package var daysLeft: Int
    }

    /// How far ahead ``expiring`` looks, in days.
    package static let expiringDays = 30

    /// The time the page shows.
    package var asOf: Timestamp
    /// Every purpose, in catalogue order.
    package var purposes: [Purpose]
    /// The 12 weeks' grants, withdrawals and expiries, their boundaries included.
    package var activity: WeeklyActivity
    /// The consents granted at the page's time that lapse in the ``expiringDays`` after it,
    /// soonest first.
    package var expiring: [Expiring]

    /// The grants of every purpose per week, oldest first.
    package var weeklyGrants: [Int] { Self.sum(purposes.map(\.weeklyGrants)) }
    /// The withdrawals of every purpose per week, oldest first.
    package var weeklyWithdrawals: [Int] { Self.sum(purposes.map(\.weeklyWithdrawals)) }
    /// The expiries of every purpose per week, oldest first.
    package var weeklyExpiries: [Int] { Self.sum(purposes.map(\.weeklyExpiries)) }

    /// The page at `activity`'s time from `fold`, the fold of the events recorded by then, with
    /// `activity`'s grants and withdrawals (``WeeklyActivity/read(from:asOf:)``) and titles and
    /// notices from `catalogue`.
    package init(fold: LedgerFold, activity: WeeklyActivity, catalogue: Catalogue) {
        let asOf = activity.asOf
        var activity = activity
        var tallies: [String: [String?: Tally]] = [:]
        var expiring: [Expiring] = []
        let horizon = asOf.adding(days: Self.expiringDays)
        for (subject, projection) in fold.projection.subjects where projection.erasure == nil {
            for entry in projection.consents(at: asOf, rules: fold.rules) {
                let notice = fold.notice(of: subject, purpose: entry.purpose)
                tallies[entry.purpose, default: [:]][notice, default: Tally()].add(entry.status)
                guard let lapse = entry.expiresAt else { continue }
                if entry.status == .expired {
                    activity.countExpiry(of: entry.purpose, at: lapse)
                } else if entry.status == .granted, lapse <= horizon {
                    expiring.append(
                        Expiring(
                            pseudonym: subject.hex,
                            purpose: entry.purpose,
                            notice: notice,
                            grantedAt: entry.since,
                            expiresAt: lapse,
                            daysLeft: ClockPage.daysLeft(until: lapse, at: asOf)
                        )
                    )
                }
            }
        }
        self.asOf = asOf
        self.activity = activity
        self.expiring = expiring.sorted {
            ($0.expiresAt, $0.pseudonym, $0.purpose) < ($1.expiresAt, $1.pseudonym, $1.purpose)
        }
        purposes = fold.projection.purposeCounts(at: asOf, catalogue: catalogue).map { count in
            let purpose = catalogue.purpose(count.id)
            return Purpose(
                counts: count,
                title: purpose?.titles["en"] ?? count.id,
                weeklyGrants: activity.grants(of: count.id),
                weeklyWithdrawals: activity.withdrawals(of: count.id),
                weeklyExpiries: activity.expiries(of: count.id),
                notices: Self.noticeRows(tallies[count.id] ?? [:], listed: purpose?.notices.map(\.version) ?? [])
            )
        }
    }

    /// Reads the page at `asOf` from `ledger`, whose fold of the events recorded by then is `fold`.
    /// - Warning: Reads the log's last 12 weeks: call it off the request threads.
    package static func load(from ledger: Ledger, fold: LedgerFold, asOf: Timestamp) throws -> ConsentPage {
        ConsentPage(
            fold: fold,
            activity: try WeeklyActivity.read(from: ledger, asOf: asOf),
            catalogue: try ledger.catalogue()
        )
    }

    /// Reads the page from `ledger` as of `asOf`, folding the log up to then.
    /// - Warning: Folds the log: call it off the request threads.
    package static func load(from ledger: Ledger, asOf: Timestamp) throws -> ConsentPage {
        try load(from: ledger, fold: try LedgerFold.read(from: ledger, asOf: asOf), asOf: asOf)
    }

    /// One row per notice version: those `listed` (the catalogue's) in order, then the others
    /// `tallies` holds, sorted, then decisions under none.
    private static func noticeRows(_ tallies: [String?: Tally], listed: [String]) -> [NoticeRow] {
        let others = tallies.keys.compactMap { $0 }.filter { !listed.contains($0) }.sorted()
        var rows = (listed + others).map { NoticeRow(version: $0, tally: tallies[$0] ?? Tally()) }
        if let unnamed = tallies[nil] { rows.append(NoticeRow(version: nil, tally: unnamed)) }
        return rows
    }

    private static func sum(_ series: [[Int]]) -> [Int] {
        (0..<WeeklyActivity.weeks).map { week in series.reduce(0) { $0 + $1[week] } }
    }
}
