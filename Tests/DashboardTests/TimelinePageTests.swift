import Dashboard
import Ledger
import Projections
import Testing

/// A request's timeline: the request's events from the log (seq, type, actor, times), folded by
/// the projections' own rules, as of a date.
struct TimelinePageTests {
    @Test func aTimelineHoldsTheRequestsEventsAsOfADate() throws {
        let fixture = try DashboardFixture()
        let ledger = fixture.ledger
        let yearEnd = try DashboardFixture.time(DashboardFixture.yearEnd)
        // A request that was extended, then completed.
        let stored = try #require(
            try ledger.storedRequests().values.sorted { $0.openedAt < $1.openedAt }.first {
                $0.extended && $0.status == "completed"
            }
        )
        let page = try #require(try TimelinePage.load(from: ledger, requestId: stored.requestId, asOf: yearEnd))
        #expect(page.entries.map(\.type) == [stored.kind.openingType, .requestExtended, stored.kind.completingType])
        #expect(page.entries.map(\.seq) == page.entries.map(\.seq).sorted())
        #expect(page.request.status == .completed && page.request.dueAt == stored.dueAt)
        for entry in page.entries {
            let event = try #require(try ledger.event(seq: entry.seq))
            #expect(entry.actor == event.actor && entry.recordedAt == event.recordedAt)
            #expect(entry.occurredAt == event.occurredAt)
        }
        // Just before its extension was recorded, it was open with its first due date.
        let extensionRecorded = page.entries[1].recordedAt
        let before = try #require(
            try TimelinePage.load(
                from: ledger,
                requestId: stored.requestId,
                asOf: Timestamp(milliseconds: extensionRecorded.milliseconds - 1)
            )
        )
        #expect(before.entries.count == 1 && before.request.status == .open)
        #expect(before.request.dueAt == stored.originalDueAt)
        // Before it was made, and for ids that name no request, there is no page.
        let opened = page.entries[0].recordedAt
        #expect(
            try TimelinePage.load(
                from: ledger,
                requestId: stored.requestId,
                asOf: Timestamp(milliseconds: opened.milliseconds - 1)
            ) == nil
        )
        #expect(
            try TimelinePage.load(from: ledger, requestId: "00000000-0000-4000-8000-000000000000", asOf: yearEnd) == nil
        )
        #expect(try TimelinePage.load(from: ledger, requestId: "../../etc/passwd", asOf: yearEnd) == nil)
        #expect(try TimelinePage.load(from: ledger, requestId: stored.requestId.uppercased(), asOf: yearEnd) == nil)
    }
}

extension RequestKind {
    /// The event type that opens a request of this kind.
    var openingType: EventType {
        switch self {
        case .access: return .accessRequested
        case .correction: return .correctionRequested
        case .erasure: return .erasureRequested
        }
    }

    /// The event type that completes a request of this kind.
    var completingType: EventType {
        switch self {
        case .access: return .accessCompleted
        case .correction: return .correctionCompleted
        case .erasure: return .erasureCompleted
        }
    }
}
