import Testing

@testable import Ledger

struct TimestampTests {
    @Test(arguments: [
        ("2026-03-01T10:00:00.123Z", "2026-03-01T10:00:00.123Z"),
        ("2026-03-01T10:00:00Z", "2026-03-01T10:00:00.000Z"),
        ("2026-03-01t10:00:00.1z", "2026-03-01T10:00:00.100Z"),
        ("2026-03-01T12:00:00.000+02:00", "2026-03-01T10:00:00.000Z"),
        ("2026-03-01T00:30:00-01:00", "2026-03-01T01:30:00.000Z"),
        ("2024-02-29T23:59:59.9999Z", "2024-02-29T23:59:59.999Z"),
        ("1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z"),
    ])
    func parsesAndFormatsCanonically(input: String, canonical: String) throws {
        let time = try #require(Timestamp(rfc3339: input))
        #expect(time.rfc3339 == canonical)
    }

    @Test(arguments: [
        "", "2026-03-01", "2026-03-01 10:00:00Z", "2026-13-01T10:00:00Z", "2026-02-30T10:00:00Z",
        "2025-02-29T10:00:00Z", "2026-03-01T24:00:00Z", "2026-03-01T10:00:00", "2026-03-01T10:00:00.Z",
        "2026-03-01T10:00:00+0200", "2026-03-01T10:00:00Zjunk", "２026-03-01T10:00:00Z",
    ])
    func refusesMalformedTimes(input: String) {
        #expect(Timestamp(rfc3339: input) == nil)
    }

    @Test func epochIsZero() throws {
        #expect(try #require(Timestamp(rfc3339: "1970-01-01T00:00:00.000Z")).milliseconds == 0)
    }
}
