import Ledger

/// A grouped bar chart of counts per week (grants, withdrawals, expiries), laid out in whole pixels
/// here and drawn as inline SVG by the `chart` template, which escapes every text; it needs no
/// script and no file: the page carries it.
struct BarChart: Sendable {
    /// One series of counts, a bar of each week.
    struct Series: Sendable {
        /// The CSS class that colours its bars: `grant`, `withdrawal` or `expiry`.
        let kind: String
        /// What one count is, singular and plural.
        let noun: String
        let plural: String
        /// One count per week, oldest first.
        let counts: [Int]

        static func grants(_ counts: [Int]) -> Series {
            Series(kind: "grant", noun: "grant", plural: "grants", counts: counts)
        }
        static func withdrawals(_ counts: [Int]) -> Series {
            Series(kind: "withdrawal", noun: "withdrawal", plural: "withdrawals", counts: counts)
        }
        static func expiries(_ counts: [Int]) -> Series {
            Series(kind: "expiry", noun: "expiry", plural: "expiries", counts: counts)
        }

        /// `3 grants`, `1 expiry`.
        func count(_ value: Int) -> String { "\(value) " + (value == 1 ? noun : plural) }
    }

    /// One bar.
    struct Bar: Sendable {
        let x: Int
        let y: Int
        let width: Int
        let height: Int
        /// The series' CSS class that colours it.
        let kind: String
        /// Its tooltip (an SVG `<title>`): the week and the count.
        let label: String
    }

    /// A text on the chart: a week's date below it, the scale's top at its left.
    struct Label: Sendable {
        let x: Int
        let y: Int
        let anchor: String
        let text: String
    }

    /// A horizontal line: the base line and the top of the scale.
    struct Rule: Sendable {
        let x1: Int
        let x2: Int
        let y: Int
    }

    let width: Int
    let height: Int
    /// What the chart shows, for screen readers.
    let summary: String
    let bars: [Bar]
    let labels: [Label]
    let rules: [Rule]

    /// How a chart is sized: the full chart has axes and labels, the small one (a table cell) bars only.
    struct Size: Sendable {
        let width: Int
        let height: Int
        let labelled: Bool

        static let full = Size(width: 720, height: 200, labelled: true)
        static let small = Size(width: 168, height: 36, labelled: false)
    }

    /// The chart of `series` (each one count per week, oldest first) in the weeks of `activity`.
    init(series: [Series], activity: WeeklyActivity, size: Size, subject: String) {
        width = size.width
        height = size.height
        let left = size.labelled ? 36 : 0
        let top = size.labelled ? 12 : 1
        let bottom = size.labelled ? 22 : 1
        let plotWidth = size.width - left
        let plotHeight = size.height - top - bottom
        let weeks = series.map(\.counts.count).min() ?? 0
        let largest = max(1, series.compactMap { $0.counts.max() }.max() ?? 0)
        let slot = weeks == 0 ? plotWidth : plotWidth / weeks
        let gap = max(2, slot / 4)
        let barWidth = max(1, (slot - gap) / max(1, series.count))
        let baseline = top + plotHeight
        var bars: [Bar] = []
        var labels: [Label] = []
        for week in 0..<weeks {
            let start = left + week * slot + gap / 2
            let from = Display.date(activity.start(ofWeek: week))
            for (index, line) in series.enumerated() {
                let value = line.counts[week]
                let barHeight = value == 0 ? 0 : max(1, value * plotHeight / largest)
                bars.append(
                    Bar(
                        x: start + index * barWidth,
                        y: baseline - barHeight,
                        width: barWidth,
                        height: barHeight,
                        kind: line.kind,
                        label: "week from \(from): " + line.count(value)
                    )
                )
            }
            if size.labelled, week % 2 == 0 || weeks <= 6 {
                labels.append(
                    Label(
                        x: start + barWidth * series.count / 2,
                        y: size.height - 6,
                        anchor: "middle",
                        text: String(from.dropFirst(5))
                    )
                )
            }
        }
        var rules = [Rule(x1: left, x2: size.width, y: baseline)]
        if size.labelled {
            rules.append(Rule(x1: left, x2: size.width, y: top))
            labels.append(Label(x: left - 4, y: top + 4, anchor: "end", text: String(largest)))
            labels.append(Label(x: left - 4, y: baseline, anchor: "end", text: "0"))
        }
        self.bars = bars
        self.labels = labels
        self.rules = rules
        let totals = series.map { $0.count($0.counts.reduce(0, +)) }
        let listed =
            totals.count > 1
            ? totals.dropLast().joined(separator: ", ") + " and " + (totals.last ?? "") : totals.joined()
        summary = "\(subject): \(listed) in the \(weeks) weeks to \(Display.date(activity.asOf))"
    }
}
