import Ledger

/// The consent page as the `consent` template draws it: the chart of every purpose's grants,
/// withdrawals and expiries per week; one row per purpose with its counts, rate and small chart;
/// the opt-in rate by notice version; the consents that lapse within 30 days.
struct ConsentView: Sendable {
    struct Row: Sendable {
        let id: String
        let title: String
        let basis: String
        let granted: Int
        let withdrawn: Int
        let expired: Int
        let erased: Int
        let rate: String
        let chart: BarChart
    }

    /// One notice version of one purpose.
    struct NoticeRow: Sendable {
        let purpose: String
        let title: String
        /// The version, or `(none)`.
        let version: String
        let granted: Int
        let withdrawn: Int
        let expired: Int
        let rate: String
    }

    struct Expiring: Sendable {
        let pseudonym: String
        let purpose: String
        let notice: String
        let granted: String
        let expires: String
        let daysLeft: String
    }

    let chart: BarChart
    /// `2025-04-08 – 2025-06-30`.
    let window: String
    let rows: [Row]
    let csvHref: String
    let notices: [NoticeRow]
    let noticesCSVHref: String
    let expiring: [Expiring]
    let expiringCount: Int
    let noneExpiring: Bool
    /// `2025-07-30 23:59 UTC`: the end of the 30 days.
    let horizon: String
    let expiringCSVHref: String

    init(_ page: ConsentPage, asOf: AsOf) {
        chart = BarChart(
            series: [.grants(page.weeklyGrants), .withdrawals(page.weeklyWithdrawals), .expiries(page.weeklyExpiries)],
            activity: page.activity,
            size: .full,
            subject: "Every purpose"
        )
        window = Display.date(page.activity.start(ofWeek: 0)) + " – " + Display.date(page.asOf)
        rows = page.purposes.map { purpose in
            Row(
                id: purpose.counts.id,
                title: purpose.title,
                basis: purpose.counts.basis,
                granted: purpose.counts.granted,
                withdrawn: purpose.counts.withdrawn,
                expired: purpose.counts.expired,
                erased: purpose.counts.erased,
                rate: Display.percent(purpose.optInRate),
                chart: BarChart(
                    series: [
                        .grants(purpose.weeklyGrants), .withdrawals(purpose.weeklyWithdrawals),
                        .expiries(purpose.weeklyExpiries),
                    ],
                    activity: page.activity,
                    size: .small,
                    subject: purpose.counts.id
                )
            )
        }
        csvHref = "/consent.csv" + asOf.query
        notices = page.purposes.flatMap { purpose in
            purpose.notices.map { notice in
                NoticeRow(
                    purpose: purpose.counts.id,
                    title: purpose.title,
                    version: notice.version ?? Self.noNotice,
                    granted: notice.tally.granted,
                    withdrawn: notice.tally.withdrawn,
                    expired: notice.tally.expired,
                    rate: Display.percent(notice.tally.optInRate)
                )
            }
        }
        noticesCSVHref = "/consent-notices.csv" + asOf.query
        expiring = page.expiring.map { consent in
            Expiring(
                pseudonym: consent.pseudonym,
                purpose: consent.purpose,
                notice: consent.notice ?? Self.noNotice,
                granted: Display.date(consent.grantedAt),
                expires: Display.minute(consent.expiresAt),
                daysLeft: Display.daysLeft(consent.daysLeft)
            )
        }
        expiringCount = page.expiring.count
        noneExpiring = page.expiring.isEmpty
        horizon = Display.dateTime(page.asOf.adding(days: ConsentPage.expiringDays))
        expiringCSVHref = "/expiring.csv" + asOf.query
    }

    /// How a decision under no notice version is shown.
    static let noNotice = "(none)"
}
