import Ledger

/// The consent page as the `consent` template draws it: the chart of every purpose's grants and
/// withdrawals per week, then one row per purpose with its counts, rate and small chart.
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

    let chart: BarChart
    /// `2025-04-08 – 2025-06-30`.
    let window: String
    let rows: [Row]
    let csvHref: String

    init(_ page: ConsentPage, asOf: AsOf) {
        chart = BarChart(
            grants: page.weeklyGrants,
            withdrawals: page.weeklyWithdrawals,
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
                    grants: purpose.weeklyGrants,
                    withdrawals: purpose.weeklyWithdrawals,
                    activity: page.activity,
                    size: .small,
                    subject: purpose.counts.id
                )
            )
        }
        csvHref = "/consent.csv" + asOf.query
    }
}
