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
}
