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

    /// `2.4 days`: a span of milliseconds (not negative) in days, to a tenth.
    static func days(milliseconds: Int64) -> String {
        let tenths = Int((Double(milliseconds) / 8_640_000).rounded())
        return "\(tenths / 10).\(tenths % 10) days"
    }

    /// `850 ms`, `12.3 s`, `4 min 12 s`: how long something took.
    static func duration(milliseconds: Int64) -> String {
        if milliseconds < 1000 { return "\(max(0, milliseconds)) ms" }
        if milliseconds < 60_000 { return "\(milliseconds / 1000).\(milliseconds % 1000 / 100) s" }
        return "\(milliseconds / 60_000) min \(milliseconds % 60_000 / 1000) s"
    }

    /// `0.725`, or `""` when there is none: a non-negative number (a rate, days) to three decimals,
    /// as a CSV cell.
    static func fraction(_ rate: Double?) -> String {
        guard let rate, rate.isFinite, rate >= 0 else { return "" }
        let thousandths = Int((rate * 1000).rounded())
        let digits = String(thousandths % 1000)
        return "\(thousandths / 1000)." + String(repeating: "0", count: 3 - digits.count) + digits
    }
}

extension Timestamp {
    /// Milliseconds from `earlier` to this time, saturating at the bounds of `Int64`: the times
    /// the pages subtract come from stored records, and a damaged one must not trap the server.
    func milliseconds(since earlier: Timestamp) -> Int64 {
        let (difference, overflow) = milliseconds.subtractingReportingOverflow(earlier.milliseconds)
        guard overflow else { return difference }
        return earlier.milliseconds < 0 ? .max : .min
    }
}
