/// A point in time in whole milliseconds since the Unix epoch (UTC), as the ledger stores and hashes
/// it, with the RFC 3339 parsing and formatting of SPEC §4.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var milliseconds: Int64

    /// Creates a timestamp from milliseconds since the epoch.
    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// Earlier first.
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// The earliest time RFC 3339 can write: `0000-01-01T00:00:00.000Z`.
    public static let earliest = Timestamp(milliseconds: -62_167_219_200_000)
    /// The latest time RFC 3339 can write: `9999-12-31T23:59:59.999Z`.
    public static let latest = Timestamp(milliseconds: 253_402_300_799_999)

    /// This time moved into ``earliest`` … ``latest``, the range RFC 3339's four-digit years hold.
    public var clamped: Timestamp {
        Timestamp(milliseconds: min(max(milliseconds, Self.earliest.milliseconds), Self.latest.milliseconds))
    }

    /// This time plus `days` whole days, saturating at ``earliest`` and ``latest``: no number of
    /// days (a catalogue's TTL, a deadline) can overflow or leave the range RFC 3339 can write.
    public func adding(days: Int) -> Timestamp { adding(Int64(clamping: days), unit: 86_400_000) }

    /// This time plus `minutes` whole minutes, saturating like ``adding(days:)``.
    public func adding(minutes: Int) -> Timestamp { adding(Int64(clamping: minutes), unit: 60_000) }

    private func adding(_ count: Int64, unit: Int64) -> Timestamp {
        let (delta, overflowDelta) = count.multipliedReportingOverflow(by: unit)
        let (sum, overflowSum) = milliseconds.addingReportingOverflow(delta)
        if overflowDelta || overflowSum { return count < 0 ? Self.earliest : Self.latest }
        return Timestamp(milliseconds: sum).clamped
    }

    /// RFC 3339 in UTC with exactly three fractional digits and `Z`: `2026-03-01T10:00:00.123Z`.
    public var description: String { rfc3339 }

    /// RFC 3339 in UTC with exactly three fractional digits and `Z`. A time outside ``earliest`` …
    /// ``latest`` (which no parser or arithmetic of the ledger produces) is written as the nearest
    /// end of that range, so the text is always RFC 3339.
    public var rfc3339: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        writeRFC3339(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends ``rfc3339``'s 24 ASCII bytes to `bytes` (no string is made: appends format every
    /// event's time).
    public func writeRFC3339(to bytes: inout [UInt8]) {
        let ms = clamped.milliseconds
        let days = floorDiv(ms, 86_400_000)
        let msOfDay = ms - days * 86_400_000
        let (y, m, d) = Self.civil(fromDays: days)
        let secondsOfDay = msOfDay / 1000
        func digits(_ value: Int64, _ width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value / divisor % 10))
                divisor /= 10
            }
        }
        digits(y, 4)
        bytes.append(UInt8(ascii: "-"))
        digits(m, 2)
        bytes.append(UInt8(ascii: "-"))
        digits(d, 2)
        bytes.append(UInt8(ascii: "T"))
        digits(secondsOfDay / 3600, 2)
        bytes.append(UInt8(ascii: ":"))
        digits(secondsOfDay / 60 % 60, 2)
        bytes.append(UInt8(ascii: ":"))
        digits(secondsOfDay % 60, 2)
        bytes.append(UInt8(ascii: "."))
        digits(msOfDay % 1000, 3)
        bytes.append(UInt8(ascii: "Z"))
    }

    /// Parses an RFC 3339 date-time (`T` or `t`, any number of fractional digits, `Z` or a numeric
    /// offset); fractions finer than a millisecond are truncated. Returns `nil` for anything else.
    public init?(rfc3339 text: String) {
        let b = Array(text.utf8)
        guard b.count >= 20 else { return nil }
        func digits(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var value: Int64 = 0
            for i in from..<(from + count) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                value = value * 10 + Int64(b[i] - 48)
            }
            return value
        }
        guard let year = digits(0, 4), b[4] == UInt8(ascii: "-"), let month = digits(5, 2), b[7] == UInt8(ascii: "-"),
            let day = digits(8, 2), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
            let hour = digits(11, 2), b[13] == UInt8(ascii: ":"), let minute = digits(14, 2),
            b[16] == UInt8(ascii: ":"), let second = digits(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year), hour <= 23,
            minute <= 59, second <= 60
        else { return nil }
        var i = 19
        var fractionMs: Int64 = 0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            var scale: Int64 = 100
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                fractionMs += Int64(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < b.count else { return nil }
        var offsetMinutes: Int64 = 0
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign: Int64 = b[i] == UInt8(ascii: "+") ? 1 : -1
            guard let oh = digits(i + 1, 2), i + 3 < b.count, b[i + 3] == UInt8(ascii: ":"),
                let om = digits(i + 4, 2), oh <= 23, om <= 59
            else { return nil }
            offsetMinutes = sign * (oh * 60 + om)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = Self.days(fromCivil: year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + min(second, 59) - offsetMinutes * 60
        let milliseconds = seconds * 1000 + fractionMs
        // An offset can carry 0000-01-01 or 9999-12-31 past the years RFC 3339 can write in UTC.
        guard (Self.earliest.milliseconds...Self.latest.milliseconds).contains(milliseconds) else { return nil }
        self.milliseconds = milliseconds
    }

    // MARK: Civil calendar (Howard Hinnant's algorithms)

    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

private func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
