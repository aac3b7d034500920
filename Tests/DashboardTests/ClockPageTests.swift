import Dashboard
import Ledger
import Testing

@testable import Projections

/// The statutory clock's model against the golden fixture: at the golden dates its overdue
/// requests are the golden files', its tiles count every open request once, and an extension
/// moves a request's clock from the moment it was recorded.
struct ClockPageTests {
    /// Days left round down (towards the past once the due date has gone by), and a damaged
    /// record's time at either end of the range gives a clamped figure, never a trap.
    @Test func daysLeftRoundDownAndNeverTrap() {
        let day: Int64 = 86_400_000
        let due = Timestamp(milliseconds: 100 * day)
        let expected: [(Int64, Int)] = [
            (0, 0), (1, -1), (day - 1, -1), (day, -1), (day + 1, -2), (-1, 0), (-day, 1), (-day - 1, 1),
        ]
        for (offset, days) in expected {
            let time = Timestamp(milliseconds: due.milliseconds + offset)
            #expect(ClockPage.daysLeft(until: due, at: time) == days, "\(offset)")
        }
        let far = ClockPage.daysLeft(until: Timestamp(milliseconds: .max), at: Timestamp(milliseconds: .min))
        let past = ClockPage.daysLeft(until: Timestamp(milliseconds: .min), at: Timestamp(milliseconds: .max))
        #expect(far > 0 && past < 0)
    }

    @Test func theOverdueRequestsAreTheGoldenOnesAtBothDates() throws {
        let fixture = try DashboardFixture()
        var overdueCounts: [Int] = []
        for date in [DashboardFixture.midYear, DashboardFixture.yearEnd] {
            let time = try DashboardFixture.time(date)
            let page = try ClockPage.load(from: fixture.ledger, asOf: time)
            let golden = try DashboardFixture.goldenOverdue(date)
            #expect(page.overdue == golden.count, "\(date)")
            #expect(Set(page.rows.filter { $0.daysLeft < 0 }.map(\.requestId)) == Set(golden), "\(date)")
            #expect(page.onTime + page.dueSoon + page.overdue == page.rows.count)
            // Every row is a request the projection has open then, with its due date.
            let open = try fixture.ledger.projection(asOf: time).requests(at: time, filter: .open)
            #expect(Set(page.rows.map(\.requestId)) == Set(open.map(\.requestId)))
            for row in page.rows {
                let request = try #require(open.first { $0.requestId == row.requestId })
                #expect(row.dueAt == request.dueAt && row.pseudonym == request.pseudonym)
                #expect((row.daysLeft < 0) == request.isOverdue(at: time))
            }
            // Most urgent first.
            #expect(page.rows.map(\.dueAt) == page.rows.map(\.dueAt).sorted())
            overdueCounts.append(page.overdue)
        }
        // The golden files: 2 overdue at the end of June, 6 at the end of the year.
        #expect(overdueCounts == [2, 6])
    }

    @Test func anExtensionMovesTheClockFromWhenItWasRecorded() throws {
        let fixture = try DashboardFixture()
        let ledger = fixture.ledger
        let extended = try ledger.storedRequests().values.filter(\.extended).sorted { $0.openedAt < $1.openedAt }
        #expect(!extended.isEmpty, "the fixture extends some requests")
        var checked = 0
        for stored in extended {
            let events = try ledger.subjectEvents(pseudonym: stored.pseudonym)
            let extension_ = try #require(
                events.first { $0.type == .requestExtended && $0.requestId == stored.requestId }
            )
            let closing = events.first { $0.requestId == stored.requestId && $0.type != .requestExtended }
            // Only a request still open just after its extension shows on the clock then.
            if let closing, closing.recordedAt <= extension_.recordedAt { continue }
            let before = try ClockPage.load(
                from: ledger,
                asOf: Timestamp(milliseconds: extension_.recordedAt.milliseconds - 1)
            )
            let after = try ClockPage.load(from: ledger, asOf: extension_.recordedAt)
            let rowBefore = try #require(before.rows.first { $0.requestId == stored.requestId })
            let rowAfter = try #require(after.rows.first { $0.requestId == stored.requestId })
            #expect(!rowBefore.extended && rowBefore.dueAt == stored.originalDueAt)
            #expect(rowAfter.extended && rowAfter.dueAt == stored.dueAt)
            // The table says when it was extended and from which due date.
            #expect(rowAfter.dueDateExtension?.originalDueAt == stored.originalDueAt)
            #expect(rowAfter.dueDateExtension?.extendedAt == extension_.occurredAt)
            #expect(rowAfter.daysLeft > rowBefore.daysLeft)
            checked += 1
        }
        #expect(checked > 0)
    }

    @Test func daysLeftRoundDownAndUrgencyFollowsTheThresholds() throws {
        let due = try DashboardFixture.time("2025-06-30T09:00:00.000Z")
        func days(_ at: String) throws -> Int { ClockPage.daysLeft(until: due, at: try DashboardFixture.time(at)) }
        #expect(try days("2025-06-30T09:00:00.000Z") == 0)
        #expect(try days("2025-06-29T09:00:00.001Z") == 0)
        #expect(try days("2025-06-29T09:00:00.000Z") == 1)
        #expect(try days("2025-06-20T09:00:00.000Z") == 10)
        #expect(try days("2025-06-30T09:00:00.001Z") == -1)
        #expect(try days("2025-07-01T09:00:00.000Z") == -1)
        #expect(try days("2025-07-01T09:00:00.001Z") == -2)
        let urgencies = [-1, 0, 4, 5, 9, 10, 30].map { ClockPage.Urgency(daysLeft: $0) }
        #expect(urgencies == [.overdue, .red, .red, .amber, .amber, .green, .green])
    }

    @Test func tilesSplitOnTimeDueSoonAndOverdue() throws {
        let asOf = try DashboardFixture.time("2025-06-01T00:00:00.000Z")
        let requests = [-3, 0, 5, 6, 40].enumerated().map { index, days in
            RequestProjection(
                requestId: "r\(index)",
                kind: .access,
                pseudonym: String(repeating: "0", count: 32),
                openedAt: asOf.adding(days: days - 30),
                dueAt: asOf.adding(days: days),
                status: .open,
                closedAt: nil
            )
        }
        let page = ClockPage(requests: requests, extensions: [:], asOf: asOf)
        #expect((page.onTime, page.dueSoon, page.overdue) == (2, 2, 1))
        #expect(page.rows.map(\.requestId) == ["r0", "r1", "r2", "r3", "r4"])
    }
}
