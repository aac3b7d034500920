import Ledger
import Projections

/// Consent (`/consent`): for each purpose of the catalogue, in its order, the anonymous counts of
/// (subject, purpose) pairs by status at a time, the opt-in rate, and the grants and withdrawals
/// of the 12 weeks before that time.
package struct ConsentPage: Sendable, Equatable {
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

        /// The share of the pairs still deciding — granted, withdrawn or expired; erased subjects
        /// no longer count — whose consent stands: granted ÷ (granted + withdrawn + expired), `nil`
        /// when there are none.
        package var optInRate: Double? {
            let deciding = counts.granted + counts.withdrawn + counts.expired
            return deciding == 0 ? nil : Double(counts.granted) / Double(deciding)
        }
    }

    /// The time the page shows.
    package var asOf: Timestamp
    /// Every purpose, in catalogue order.
    package var purposes: [Purpose]
    /// The 12 weeks' grants and withdrawals, their boundaries included.
    package var activity: WeeklyActivity

    /// The grants of every purpose per week, oldest first.
    package var weeklyGrants: [Int] { Self.sum(purposes.map(\.weeklyGrants)) }
    /// The withdrawals of every purpose per week, oldest first.
    package var weeklyWithdrawals: [Int] { Self.sum(purposes.map(\.weeklyWithdrawals)) }

    /// The page for `counts` (catalogue order) and `activity`, with titles from `catalogue`.
    package init(counts: [PurposeCount], activity: WeeklyActivity, catalogue: Catalogue) {
        asOf = activity.asOf
        self.activity = activity
        purposes = counts.map { count in
            let purpose = catalogue.purposes.first { $0.id == count.id }
            return Purpose(
                counts: count,
                title: purpose?.titles["en"] ?? count.id,
                weeklyGrants: activity.grants(of: count.id),
                weeklyWithdrawals: activity.withdrawals(of: count.id)
            )
        }
    }

    /// Reads the page from `ledger` as of `asOf`.
    /// - Warning: Reads the log: call it off the request threads.
    package static func load(from ledger: Ledger, asOf: Timestamp) throws -> ConsentPage {
        ConsentPage(
            counts: try ledger.purposeCounts(asOf: asOf),
            activity: try WeeklyActivity.read(from: ledger, asOf: asOf),
            catalogue: try ledger.catalogue()
        )
    }

    private static func sum(_ series: [[Int]]) -> [Int] {
        (0..<WeeklyActivity.weeks).map { week in series.reduce(0) { $0 + $1[week] } }
    }
}
