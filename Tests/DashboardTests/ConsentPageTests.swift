import Dashboard
import Ledger
import Projections
import Testing

/// The consent page's model against the golden fixture: the counts are the golden files' at both
/// dates, in catalogue order; the weeks count every grant and withdrawal that happened in them
/// among the events recorded by then, each once.
struct ConsentPageTests {
    @Test func theCountsAreTheGoldenOnesAtBothDates() throws {
        let fixture = try DashboardFixture()
        let catalogue = try fixture.ledger.catalogue()
        var pages: [ConsentPage] = []
        for date in [DashboardFixture.midYear, DashboardFixture.yearEnd] {
            let page = try ConsentPage.load(from: fixture.ledger, asOf: try DashboardFixture.time(date))
            #expect(
                page.purposes.map { DashboardFixture.Counts($0.counts) }
                    == (try DashboardFixture.goldenPurposeCounts(date))
            )
            #expect(page.purposes.map(\.counts.id) == catalogue.purposes.map(\.id))
            pages.append(page)
        }
        #expect(pages[0].purposes.map(\.counts) != pages[1].purposes.map(\.counts))
        // The rate: granted over the pairs still deciding.
        let newsletter = try #require(pages[1].purposes.first { $0.counts.id == "newsletter" })
        #expect(newsletter.optInRate == 376.0 / (376.0 + 177.0))
        #expect(newsletter.title == "Newsletter")
        let contract = try #require(pages[1].purposes.first { $0.counts.id == "courses" })
        #expect(contract.optInRate == nil)
    }

    @Test func theWeeksCountEveryGrantAndWithdrawalOnce() throws {
        let fixture = try DashboardFixture()
        for date in [DashboardFixture.midYear, DashboardFixture.yearEnd, "2025-02-10T12:00:00.000Z"] {
            let asOf = try DashboardFixture.time(date)
            let page = try ConsentPage.load(from: fixture.ledger, asOf: asOf)
            // Counted naively from every event of the log.
            var grants = Array(repeating: 0, count: 12)
            var withdrawals = Array(repeating: 0, count: 12)
            try fixture.ledger.forEachEvent { event in
                guard event.recordedAt <= asOf, event.type.isConsent else { return true }
                let before = asOf.milliseconds - event.occurredAt.milliseconds
                guard before >= 0, before < 12 * 7 * 86_400_000 else { return true }
                let week = 11 - Int(before / (7 * 86_400_000))
                if event.type == .consentGranted { grants[week] += 1 } else { withdrawals[week] += 1 }
                return true
            }
            #expect(page.weeklyGrants == grants, "\(date)")
            #expect(page.weeklyWithdrawals == withdrawals, "\(date)")
            #expect(grants.reduce(0, +) > 0)
            #expect(page.activity.start(ofWeek: 0) == Timestamp(milliseconds: asOf.milliseconds - 84 * 86_400_000 + 1))
        }
    }

    @Test func aWeekHoldsSevenDaysEndingAtTheTime() throws {
        let asOf = try DashboardFixture.time("2025-06-30T23:59:59.999Z")
        let activity = WeeklyActivity(asOf: asOf)
        #expect(activity.week(of: asOf) == 11)
        #expect(activity.week(of: try DashboardFixture.time("2025-06-24T00:00:00.000Z")) == 11)
        #expect(activity.week(of: try DashboardFixture.time("2025-06-23T23:59:59.999Z")) == 10)
        #expect(activity.week(of: activity.start(ofWeek: 0)) == 0)
        #expect(activity.week(of: Timestamp(milliseconds: activity.start(ofWeek: 0).milliseconds - 1)) == nil)
        #expect(activity.week(of: Timestamp(milliseconds: asOf.milliseconds + 1)) == nil)
    }

    @Test func theConsentsExpiringWithin30DaysAreTheGoldenOnes() throws {
        let fixture = try DashboardFixture()
        var found: [Int] = []
        for date in [DashboardFixture.midYear, DashboardFixture.yearEnd] {
            let asOf = try DashboardFixture.time(date)
            let horizon = asOf.adding(days: 30)
            // From the golden state: the pairs granted then whose expiry is within 30 days.
            var golden: Set<String> = []
            for line in try DashboardFixture.golden("state-\(date.prefix(10)).ndjson") {
                guard let pseudonym = line["pseudonym"] as? String, let consents = line["consents"] as? [[String: Any]]
                else { continue }
                for consent in consents where consent["status"] as? String == "granted" {
                    guard let text = consent["expiresAt"] as? String, let expiry = Timestamp(rfc3339: text),
                        expiry <= horizon
                    else { continue }
                    golden.insert("\(pseudonym) \(consent["purpose"] ?? "") \(expiry.rfc3339)")
                }
            }
            let page = try ConsentPage.load(from: fixture.ledger, asOf: asOf)
            #expect(
                Set(page.expiring.map { "\($0.pseudonym) \($0.purpose) \($0.expiresAt.rfc3339)" }) == golden,
                "\(date)"
            )
            #expect(page.expiring.count == golden.count)
            #expect(page.expiring.map(\.expiresAt) == page.expiring.map(\.expiresAt).sorted(), "soonest first")
            #expect(page.expiring.allSatisfy { $0.expiresAt > asOf && $0.notice == "policy-v1" })
            #expect(page.expiring.allSatisfy { $0.daysLeft == ClockPage.daysLeft(until: $0.expiresAt, at: asOf) })
            found.append(golden.count)
        }
        #expect(found.allSatisfy { $0 > 10 }, "\(found)")
    }

    @Test func expiriesPerWeekAreTheExpiredPairsByTheWeekTheirGrantLapsed() throws {
        let fixture = try DashboardFixture()
        for date in [DashboardFixture.midYear, DashboardFixture.yearEnd] {
            let asOf = try DashboardFixture.time(date)
            let page = try ConsentPage.load(from: fixture.ledger, asOf: asOf)
            var golden: [String: [Int]] = [:]
            for line in try DashboardFixture.golden("state-\(date.prefix(10)).ndjson") {
                for consent in line["consents"] as? [[String: Any]] ?? []
                where consent["status"] as? String == "expired" {
                    let expiry = try #require((consent["expiresAt"] as? String).flatMap(Timestamp.init(rfc3339:)))
                    guard let week = page.activity.week(of: expiry), let purpose = consent["purpose"] as? String else {
                        continue
                    }
                    golden[purpose, default: Array(repeating: 0, count: 12)][week] += 1
                }
            }
            for purpose in page.purposes {
                #expect(
                    purpose.weeklyExpiries == golden[purpose.counts.id] ?? Array(repeating: 0, count: 12),
                    "\(date)"
                )
            }
            #expect(page.weeklyExpiries.reduce(0, +) > 0, "\(date)")
        }
    }

    @Test func eachPurposesNoticeVersionsAddUpToItsCounts() throws {
        let fixture = try DashboardFixture()
        for date in [DashboardFixture.midYear, DashboardFixture.yearEnd] {
            let page = try ConsentPage.load(from: fixture.ledger, asOf: try DashboardFixture.time(date))
            for purpose in page.purposes {
                let tallies = purpose.notices.map(\.tally)
                #expect(tallies.reduce(0) { $0 + $1.granted } == purpose.counts.granted, "\(purpose.counts.id)")
                #expect(tallies.reduce(0) { $0 + $1.withdrawn } == purpose.counts.withdrawn, "\(purpose.counts.id)")
                #expect(tallies.reduce(0) { $0 + $1.expired } == purpose.counts.expired, "\(purpose.counts.id)")
            }
        }
        // The fixture's consent purposes have one notice each, policy-v1.
        let yearEnd = try ConsentPage.load(
            from: fixture.ledger,
            asOf: try DashboardFixture.time(DashboardFixture.yearEnd)
        )
        let newsletter = try #require(yearEnd.purposes.first { $0.counts.id == "newsletter" })
        #expect(newsletter.notices.map(\.version) == ["policy-v1"])
        #expect(newsletter.notices.first?.tally.optInRate == 376.0 / (376.0 + 177.0))
        #expect(yearEnd.purposes.first { $0.counts.id == "courses" }?.notices.isEmpty == true)
    }

    @Test func theOptInRateByNoticeVersionCountsEachPairUnderItsDecidingNotice() throws {
        let ledger = try NoticeLedger()
        let page = try ConsentPage.load(from: ledger.ledger, asOf: Timestamp.latest.adding(days: -31))
        let newsletter = try #require(page.purposes.first { $0.counts.id == "newsletter" })
        let rows = newsletter.notices.map { ($0.version, $0.tally.granted, $0.tally.withdrawn, $0.tally.expired) }
        // v1: granted-v1 stands, lapsed-v1 lapsed; v2: renewed-v2 stands, withdrawn-v2 and
        // backdated withdrawn; none: the withdrawal with no grant before it.
        #expect(rows.count == 3)
        #expect(rows.map(\.0) == ["policy-v1", "policy-v2", nil])
        #expect(rows.map { [$0.1, $0.2, $0.3] } == [[1, 0, 1], [1, 2, 0], [0, 1, 0]])
        #expect(newsletter.notices.map(\.tally.optInRate) == [0.5, 1.0 / 3.0, 0])
    }
}
