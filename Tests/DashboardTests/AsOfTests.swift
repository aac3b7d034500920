import Dashboard
import Ledger
import Testing

/// `?asOf=`: a date-time or a date (the end of that day, UTC); blank is now; anything else is
/// refused with `invalid_field` and a message that does not repeat it.
struct AsOfTests {
    let now = Timestamp(milliseconds: 1_767_225_599_999)  // 2025-12-31T23:59:59.999Z

    @Test func aDateMeansTheEndOfThatDayInUTC() throws {
        let asOf = try AsOf(parsing: "2025-06-30", now: now)
        #expect(asOf.time.rfc3339 == "2025-06-30T23:59:59.999Z")
        #expect(asOf.query == "?asOf=2025-06-30" && asOf.date == "2025-06-30")
    }

    @Test func aDateTimeIsTakenAtItsOffsetAndCarriedInUTC() throws {
        let asOf = try AsOf(parsing: "2025-06-30T12:00:00+02:00", now: now)
        #expect(asOf.time.rfc3339 == "2025-06-30T10:00:00.000Z")
        #expect(asOf.query == "?asOf=2025-06-30T10:00:00.000Z")
    }

    @Test func blankOrAbsentIsNow() throws {
        #expect(try AsOf(parsing: nil, now: now) == AsOf(now: now))
        #expect(try AsOf(parsing: "", now: now).time == now)
        #expect(AsOf(now: now).query == "")
    }

    @Test(arguments: [
        "yesterday", "2025-13-01", "2025-02-30", "2025-06-30T25:00:00Z", "2025/06/30", "2025-06-30 12:00:00",
        "20250630", "2025-06-30T12:00:00", "<script>", "2025-06-3", String(repeating: "9", count: 100),
    ])
    func malformedValuesAreRefusedWithAStableCode(text: String) {
        // Always the same error, whatever was given: it never repeats the value.
        #expect(throws: AsOf.malformed) { try AsOf(parsing: text, now: now) }
        #expect(AsOf.malformed.code == .invalidField && AsOf.malformed.status == .badRequest)
    }
}
