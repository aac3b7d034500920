import Ledger

/// How the pages write times, days and rates: always in UTC, so that every reader of a page or a
/// screenshot reads the same thing.
enum Display {
    /// `2025-06-30`.
    static func date(_ time: Timestamp) -> String { String(time.rfc3339.prefix(10)) }

    /// `2025-06-30 09:00 UTC`.
    static func dateTime(_ time: Timestamp) -> String { minute(time) + " UTC" }

    /// `2025-06-30 09:00` (UTC), for table cells whose heading says UTC.
    static func minute(_ time: Timestamp) -> String {
        let text = time.rfc3339
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(5))
    }

    /// `12 days`, `1 day`, or `overdue by 3 days` for a negative count.
    static func daysLeft(_ days: Int) -> String {
        days >= 0 ? count(days, "day") : "overdue by " + count(days.magnitude, "day")
    }

    /// `1 event`, `2 events`.
    static func count(_ value: some BinaryInteger, _ noun: String) -> String {
        "\(value) \(noun)" + (value == 1 ? "" : "s")
    }

    /// `72.5 %`, or `—` when there is no rate.
    static func percent(_ rate: Double?) -> String {
        guard let rate, rate.isFinite else { return "—" }
        let tenths = Int((rate * 1000).rounded())
        return "\(tenths / 10).\(tenths % 10) %"
    }

    /// `0.725`, or `""` when there is no rate: a rate as a CSV cell.
    static func fraction(_ rate: Double?) -> String {
        guard let rate, rate.isFinite else { return "" }
        let thousandths = Int((rate * 1000).rounded())
        let digits = String(thousandths % 1000)
        return "\(thousandths / 1000)." + String(repeating: "0", count: 3 - digits.count) + digits
    }
}
