import Dashboard
import Ledger
import Projections
import Testing

/// The erasures page against the golden fixture: the erased subjects are the golden files', each
/// erasure that answered a request has that request's time, and the summary is the median and the
/// longest of those times, counted here from the log itself.
struct ErasuresPageTests {
    @Test func theErasuresAreTheGoldenOnesWithTheTimeFromRequestToShred() throws {
        let fixture = try DashboardFixture()
        var counts: [Int] = []
        for date in [DashboardFixture.midYear, DashboardFixture.yearEnd] {
            let asOf = try DashboardFixture.time(date)
            let page = try ErasuresPage.load(from: fixture.ledger, asOf: asOf)
            let golden = try DashboardFixture.golden("state-\(date.prefix(10)).ndjson").filter {
                $0["erased"] as? Bool == true
            }
            #expect(Set(page.rows.map(\.pseudonym)) == Set(golden.compactMap { $0["pseudonym"] as? String }), "\(date)")
            // From the log: each erasure.completed recorded by then, and the request it closed.
            var requestedAt: [String: Timestamp] = [:]
            var expected: [String: (erasedAt: Timestamp, toShred: Int64?)] = [:]
            try fixture.ledger.forEachEvent { event in
                guard event.recordedAt <= asOf else { return false }
                if event.type == .erasureRequested { requestedAt[event.eventId] = event.occurredAt }
                if event.type == .erasureCompleted {
                    let toShred = requestedAt[event.requestId].map { event.occurredAt.milliseconds - $0.milliseconds }
                    expected[event.subject] = (event.occurredAt, event.requestId.isEmpty ? nil : toShred)
                }
                return true
            }
            #expect(page.rows.count == expected.count)
            for row in page.rows {
                let known = try #require(expected[row.pseudonym])
                #expect(row.erasedAt == known.erasedAt && row.millisecondsToShred == known.toShred, "\(row.pseudonym)")
            }
            let times = expected.values.compactMap(\.toShred).sorted()
            #expect(page.timesToShred == times)
            #expect(!times.isEmpty && times.count < page.erasures, "some erasures answered a request, some none")
            #expect(page.longestToShred == times.last)
            let middle = times.count / 2
            #expect(
                page.medianToShred == (times.count % 2 == 1 ? times[middle] : (times[middle - 1] + times[middle]) / 2)
            )
            // Requests still open and rejected by then, as the projection has them.
            let requests = try fixture.ledger.projection(asOf: asOf).requests.values.filter { $0.kind == .erasure }
            #expect(page.openRequests == requests.count { $0.status == .open })
            #expect(page.rejectedRequests == requests.count { $0.status == .rejected })
            counts.append(page.erasures)
        }
        #expect(counts[0] > 0 && counts[0] < counts[1])
        #expect(
            try ErasuresPage.load(from: fixture.ledger, asOf: DashboardFixture.time("2025-01-02T00:00:00Z")).rows
                .isEmpty
        )
    }

    @Test func theMedianIsTheMiddleTimeOrTheMeanOfTheTwoMiddleOnes() throws {
        let asOf = try DashboardFixture.time(DashboardFixture.yearEnd)
        var page = ErasuresPage(
            fold: LedgerFold(rules: ProjectionRules(catalogue: try Catalogue.bundled())),
            asOf: asOf
        )
        #expect(page.medianToShred == nil && page.longestToShred == nil && page.erasures == 0)
        func row(_ days: Int64?) -> ErasuresPage.Row {
            ErasuresPage.Row(
                pseudonym: String(repeating: "0", count: 32),
                seq: 1,
                erasedAt: asOf,
                requestId: days.map { _ in "r" },
                requestedAt: days.map { Timestamp(milliseconds: asOf.milliseconds - $0 * 86_400_000) }
            )
        }
        page.rows = [row(3), row(nil), row(1), row(10)]
        #expect(page.medianToShred == 3 * 86_400_000 && page.longestToShred == 10 * 86_400_000)
        page.rows.append(row(6))
        #expect(page.medianToShred == Int64(4.5 * 86_400_000))
    }
}
