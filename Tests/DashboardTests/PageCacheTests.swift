import Dashboard
import Foundation
import Ledger
import Projections
import Testing

/// What a view costs: a page seen again is not computed again, the page "now" folds only the
/// events appended since the last view, what is kept is bounded, a new catalogue drops it, and
/// pages are computed one at a time.
struct PageCacheTests {
    static func clock(_ cache: PageCache, _ asOf: Timestamp) async throws -> ClockPage {
        try await cache.page("clock", asOf: asOf) { _, fold, _ in ClockPage(fold: fold, asOf: asOf) }
    }

    @Test func aViewSeenAgainFoldsNothingAndTheNowViewFoldsOnlyTheNewEvents() async throws {
        let fixture = try DashboardFixture()
        let ledger = fixture.ledger
        let cache = PageCache(ledger: ledger)
        let yearEnd = try DashboardFixture.time(DashboardFixture.yearEnd)
        let first = try await Self.clock(cache, yearEnd)
        #expect(cache.statistics.eventsFolded == 2_269 && cache.statistics.models == 1)
        // The same page at the same moment: kept.
        #expect(try await Self.clock(cache, yearEnd) == first)
        #expect(cache.statistics.eventsFolded == 2_269 && cache.statistics.models == 1)
        // Another moment with the same events (the now-view a moment later): the fold is reused.
        let later = try await Self.clock(cache, Timestamp(milliseconds: yearEnd.milliseconds + 60_000))
        #expect(later.rows.map(\.requestId) == first.rows.map(\.requestId))
        #expect(cache.statistics.eventsFolded == 2_269 && cache.statistics.models == 2)

        // Three events appended: the now-view folds those three, not the log again.
        let catalogue = try ledger.catalogue()
        let events = try (1...3).map { index in
            try ClientEvent.decode(
                json: Array(
                    #"{"type":"access.requested","subject":"late\#(index)@example.org","purpose":"courses"}"#.utf8
                ),
                catalogue: catalogue
            )
        }
        _ = try ledger.append(events, actor: "tests")
        let now = try await Self.clock(cache, yearEnd)
        #expect(cache.statistics.eventsFolded == 2_272 && cache.statistics.foldSizes == [2_272])
        #expect(now.rows.count == first.rows.count + 3)
        #expect(now == (try ClockPage.load(from: ledger, asOf: yearEnd)), "the same as a fold from scratch")

        // A past moment: folded once from the start, then kept beside the present.
        let midYear = try DashboardFixture.time(DashboardFixture.midYear)
        _ = try await Self.clock(cache, midYear)
        #expect(cache.statistics.eventsFolded == 2_272 + 1_094 && cache.statistics.foldSizes == [1_094, 2_272])
        _ = try await Self.clock(cache, yearEnd)
        #expect(cache.statistics.eventsFolded == 2_272 + 1_094, "the present's fold was kept")
        // A moment between them extends the past fold, the nearest one before it.
        let september = try DashboardFixture.time("2025-09-30T23:59:59.999Z")
        let sept = try await Self.clock(cache, september)
        let septemberSeq = UInt64(try DashboardFixture.goldenSeq("2025-09-30"))
        #expect(
            cache.statistics.eventsFolded == 2_272 + septemberSeq
                && cache.statistics.foldSizes == [septemberSeq, 2_272]
        )
        #expect(sept == (try ClockPage.load(from: ledger, asOf: september)))
    }

    @Test func whatIsKeptIsBounded() async throws {
        let fixture = try DashboardFixture()
        let cache = PageCache(ledger: fixture.ledger)
        let start = try DashboardFixture.time("2025-01-01T00:00:00Z")
        for day in stride(from: 0, to: 360, by: 9) { _ = try await Self.clock(cache, start.adding(days: day)) }
        #expect(cache.statistics.models == PageCache.modelCapacity)
        // Each moment after the one before: the one fold was extended, the log folded once in all.
        #expect(cache.statistics.foldSizes.count == 1)
        let last = try fixture.ledger.prefixLength(asOf: start.adding(days: 351))
        #expect(cache.statistics.eventsFolded == last)
        // Moments going back each need a fold of their own: no more than the capacity are kept.
        for day in stride(from: 300, to: 0, by: -30) { _ = try await Self.clock(cache, start.adding(days: day)) }
        #expect(cache.statistics.foldSizes.count == PageCache.foldCapacity)
        #expect(
            cache.statistics.foldSizes == [
                try fixture.ledger.prefixLength(asOf: start.adding(days: 30)),
                try fixture.ledger.prefixLength(asOf: start.adding(days: 60)),
            ]
        )
        #expect(cache.statistics.models == PageCache.modelCapacity)
    }

    @Test func aNewCatalogueDropsWhatIsKept() async throws {
        let fixture = try DashboardFixture()
        let cache = PageCache(ledger: fixture.ledger)
        let asOf = try DashboardFixture.time(DashboardFixture.yearEnd)
        func newsletterTitle() async throws -> String? {
            try await cache.page("consent", asOf: asOf) { ledger, fold, catalogue in
                ConsentPage(
                    fold: fold,
                    activity: try WeeklyActivity.read(from: ledger, asOf: asOf),
                    catalogue: catalogue
                )
            }.purposes.first?.title
        }
        #expect(try await newsletterTitle() == "Newsletter")
        let renamed = try Catalogue.parse(
            Catalogue.bundledSource.replacing(#"en: "Newsletter""#, with: #"en: "News by e-mail""#)
        )
        try fixture.ledger.loadCatalogue(renamed)
        #expect(try await newsletterTitle() == "News by e-mail")
        #expect(cache.statistics.eventsFolded == 2_269 && cache.statistics.models == 1)
    }

    @Test func pagesAreComputedOneAtATimeOnAThreadOfLowerPriority() async throws {
        let fixture = try DashboardFixture()
        let cache = PageCache(ledger: fixture.ledger)
        let start = try DashboardFixture.time("2025-03-01T00:00:00Z")
        let running = Locked(0)
        let most = Locked(0)
        let niceness = Locked<Set<Int32>>([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for day in 0..<12 {
                group.addTask {
                    _ = try await cache.page("busy", asOf: start.adding(days: day)) { _, fold, _ in
                        let now = running.withLock { count in
                            count += 1
                            return count
                        }
                        most.withLock { $0 = max($0, now) }
                        niceness.withLock { _ = $0.insert(PageCache.callersNiceness) }
                        usleep(5_000)
                        running.withLock { $0 -= 1 }
                        return fold.throughSeq
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(most.withLock { $0 } == 1)
        #expect(cache.statistics.models == 12)
        // On the dashboard's own thread, behind the others; the rest of the process is untouched.
        #expect(niceness.withLock { $0 } == [PageCache.niceness])
        #expect(PageCache.callersNiceness == 0)
    }
}
