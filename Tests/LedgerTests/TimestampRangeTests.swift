import Testing

@testable import Ledger
@testable import Projections

/// Timestamp arithmetic and RFC 3339 text for any Int64, and catalogue numbers out of range.
struct TimestampRangeTests {
    /// RFC 3339 as SPEC §4 writes it: a four-digit year, three fractional digits, `Z`.
    static func isRFC3339(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count == 24 else { return false }
        for (i, c) in b.enumerated() {
            switch i {
            case 4, 7: if c != UInt8(ascii: "-") { return false }
            case 10: if c != UInt8(ascii: "T") { return false }
            case 13, 16: if c != UInt8(ascii: ":") { return false }
            case 19: if c != UInt8(ascii: ".") { return false }
            case 23: if c != UInt8(ascii: "Z") { return false }
            default: if !(48...57).contains(c) { return false }
            }
        }
        return Timestamp(rfc3339: text) != nil
    }

    @Test func formattingIsRFC3339ForEveryInt64() {
        for ms: Int64 in [.min, .min + 1, -62_167_219_200_001, -1, 0, 1, 253_402_300_800_000, .max - 1, .max] {
            let text = Timestamp(milliseconds: ms).rfc3339
            #expect(Self.isRFC3339(text), "\(ms) → \(text)")
        }
        #expect(Timestamp(milliseconds: .max).rfc3339 == "9999-12-31T23:59:59.999Z")
        #expect(Timestamp(milliseconds: .min).rfc3339 == "0000-01-01T00:00:00.000Z")
        #expect(Timestamp.latest.rfc3339 == "9999-12-31T23:59:59.999Z")
        #expect(Timestamp.earliest.rfc3339 == "0000-01-01T00:00:00.000Z")
    }

    @Test func arithmeticSaturatesInsteadOfTrapping() {
        let now = Timestamp(rfc3339: "2026-03-01T10:00:00Z") ?? .earliest
        #expect(now.adding(days: Int.max) == .latest)
        #expect(now.adding(days: Int.min) == .earliest)
        #expect(now.adding(days: 3_000_000) == .latest)
        #expect(now.adding(minutes: Int.max) == .latest)
        #expect(now.adding(minutes: Int.min) == .earliest)
        #expect(Timestamp(milliseconds: .max).adding(days: 1) == .latest)
        #expect(Timestamp(milliseconds: .min).adding(days: -1) == .earliest)
        #expect(now.adding(days: 30).rfc3339 == "2026-03-31T10:00:00.000Z")
    }

    @Test func parsingRefusesYearsRFC3339CannotWriteInUTC() {
        #expect(Timestamp(rfc3339: "0000-01-01T00:00:00Z") == .earliest)
        #expect(Timestamp(rfc3339: "9999-12-31T23:59:59.999Z") == .latest)
        #expect(Timestamp(rfc3339: "9999-12-31T23:59:59-01:00") == nil)
        #expect(Timestamp(rfc3339: "0000-01-01T00:00:00+00:01") == nil)
        #expect(Timestamp(rfc3339: "10000-01-01T00:00:00Z") == nil)
        #expect(Timestamp(rfc3339: "-0001-01-01T00:00:00Z") == nil)
    }

    @Test func aHugeTTLGivesAnRFC3339Expiry() {
        var rules = ProjectionRules(catalogue: (try? Catalogue.bundled()) ?? Catalogue.emptyForTests)
        rules.consentTTLDays["newsletter"] = Int.max
        var subject = SubjectProjection()
        let grant = ProjectionFoldTests.event(
            1,
            .consentGranted,
            purpose: "newsletter",
            occurred: "2026-03-01T10:00:00Z"
        )
        if let summary = EventSummary(grant) { subject.apply(summary) }
        let entry = subject.consents(at: ProjectionFoldTests.time("2026-04-01T00:00:00Z"), rules: rules).first
        #expect(entry?.status == .granted)
        #expect(entry?.expiresAt?.rfc3339 == "9999-12-31T23:59:59.999Z")
    }

    private static func catalogue(purpose extra: String = "", top: String = "", client: String? = nil) -> String {
        var text = """
            controller: {name: X}
            \(top)purposes:
              - id: newsletter
                basis: consent
                notices: [{version: v1, text: hello}]
            \(extra)
            """
        if let client {
            text += "\nclients:\n  - name: web\n    roles: [append]\n    \(client)\n"
        }
        return text
    }

    private static func fault(_ text: String) -> String? {
        do {
            _ = try Catalogue.parse(text)
            return nil
        } catch let error as LedgerError {
            return error.code == .invalidCatalogue ? error.message : "code \(error.code.rawValue)"
        } catch {
            return "\(error)"
        }
    }

    @Test func catalogueDaysOutOfRangeAreRefusedWithTheirLine() throws {
        for ttl in ["9223372036854775807", "99999999999999999999", "36501", "3000000", "0", "-1"] {
            let message = Self.fault(Self.catalogue(purpose: "    consentTTLDays: \(ttl)"))
            #expect(message?.hasPrefix("line 6:") == true, "\(ttl): \(message ?? "accepted")")
            #expect(message?.contains("1 to 36500") == true)
        }
        #expect(Self.fault(Self.catalogue(purpose: "    consentTTLDays: 36500")) == nil)
        #expect(Self.fault(Self.catalogue(purpose: "    consentTTLDays: 1")) == nil)
        for (key, value) in [
            ("requestDeadlineDays", "9223372036854775807"), ("requestDeadlineDays", "0"),
            ("extensionLimitDays", "-1"), ("extensionLimitDays", "366"),
        ] {
            let message = Self.fault(Self.catalogue(top: "\(key): \(value)\n"))
            #expect(message?.hasPrefix("line 2:") == true, "\(key) \(value): \(message ?? "accepted")")
        }
    }

    @Test func clientIdsOutOfRangeAreRefusedWithTheirLine() throws {
        for bad in ["uid: -1", "gid: -1", "uid: 4294967296", "gid: 4294967295", "uid: 9223372036854775808"] {
            let message = Self.fault(Self.catalogue(client: bad))
            #expect(message?.hasPrefix("line 10:") == true, "\(bad): \(message ?? "accepted")")
            #expect(message?.contains("0 to 4294967294") == true)
        }
        let catalogue = try Catalogue.parse(Self.catalogue(client: "uid: 4294967294"))
        #expect(catalogue.clients?.first?.uid == 4_294_967_294)
        #expect(try Catalogue.parse(Self.catalogue(client: "gid: 0")).clients?.first?.gid == 0)
    }

    @Test func aStoredCatalogueWithOldOutOfRangeValuesIsClampedNotRefused() throws {
        let text =
            Self.catalogue(purpose: "    consentTTLDays: 99999", client: "uid: 4294967295")
        #expect(Self.fault(text) != nil)
        let stored = try Catalogue.parse(text, stored: true)
        #expect(stored.purpose("newsletter")?.consentTTLDays == 36_500)
        #expect(stored.clients?.first?.uid == 4_294_967_294)
        #expect(throws: LedgerError.self) {
            try Catalogue.parse(Self.catalogue(purpose: "    consentTTLDays: 1e3"), stored: true)
        }
    }
}
