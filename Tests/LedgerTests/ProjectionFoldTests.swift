import Testing

@testable import Ledger
@testable import Projections

/// The projection rules of SPEC §5, on hand-made events (no LMDB).
struct ProjectionFoldTests {
    static let alice = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    static let bob = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    let rules = ProjectionRules(catalogue: (try? Catalogue.bundled()) ?? Catalogue.emptyForTests)

    static func id(_ hex: String) -> Pseudonym { Pseudonym(hex: hex) ?? Pseudonym(high: 0, low: 0) }

    static func time(_ text: String) -> Timestamp { Timestamp(rfc3339: text) ?? Timestamp(milliseconds: 0) }

    static func event(
        _ seq: UInt64,
        _ type: EventType,
        subject: String = alice,
        purpose: String = "",
        occurred: String,
        recorded: String? = nil,
        expires: String? = nil,
        eventId: String? = nil,
        requestId: String = ""
    ) -> StoredEvent {
        StoredEvent(
            seq: seq,
            eventId: eventId
                ?? "00000000-0000-4000-8000-\(String(repeating: "0", count: 12 - String(seq).count))\(seq)",
            type: type,
            subject: subject,
            purpose: purpose,
            notice: "",
            requestId: requestId,
            occurredAt: time(occurred),
            recordedAt: time(recorded ?? occurred),
            expiresAt: expires.map(time),
            actor: "t",
            payload: [],
            prevHash: [],
            hash: []
        )
    }

    private func fold(_ events: [StoredEvent]) -> LedgerProjection {
        var projection = LedgerProjection()
        for event in events { projection.apply(event, rules: rules) }
        return projection
    }

    private func status(
        _ projection: LedgerProjection,
        _ purpose: String,
        subject: String = alice,
        at: String
    ) -> ConsentStatus? {
        projection.subjects[Self.id(subject)]?.consents(at: Self.time(at), rules: rules).first {
            $0.purpose == purpose
        }?.status
    }

    @Test func aBackDatedWithdrawalDoesNotOverrideALaterGrant() {
        let projection = fold([
            Self.event(1, .consentGranted, purpose: "newsletter", occurred: "2026-03-01T10:00:00Z"),
            Self.event(
                2,
                .consentWithdrawn,
                purpose: "newsletter",
                occurred: "2026-02-01T10:00:00Z",
                recorded: "2026-03-02T10:00:00Z"
            ),
        ])
        #expect(status(projection, "newsletter", at: "2026-04-01T00:00:00Z") == .granted)
        #expect(projection.subjects[Self.id(Self.alice)]?.consents["newsletter"]?.seq == 1)
    }

    @Test func aBackDatedPaperConsentLandsWhereItBelongs() {
        let projection = fold([
            Self.event(1, .consentWithdrawn, purpose: "surveys", occurred: "2026-01-10T10:00:00Z"),
            Self.event(
                2,
                .consentGranted,
                purpose: "surveys",
                occurred: "2026-02-01T10:00:00Z",
                recorded: "2026-03-01T10:00:00Z"
            ),
        ])
        let entry = projection.subjects[Self.id(Self.alice)]?.consents(
            at: Self.time("2026-03-02T00:00:00Z"),
            rules: rules
        ).first
        #expect(entry?.status == .granted)
        #expect(entry?.since.rfc3339 == "2026-02-01T10:00:00.000Z")
    }

    @Test func equalOccurredAtIsDecidedBySeq() {
        let projection = fold([
            Self.event(1, .consentWithdrawn, purpose: "newsletter", occurred: "2026-03-01T10:00:00Z"),
            Self.event(2, .consentGranted, purpose: "newsletter", occurred: "2026-03-01T10:00:00Z"),
        ])
        #expect(status(projection, "newsletter", at: "2026-03-02T00:00:00Z") == .granted)
        let reversed = fold([
            Self.event(1, .consentGranted, purpose: "newsletter", occurred: "2026-03-01T10:00:00Z"),
            Self.event(2, .consentWithdrawn, purpose: "newsletter", occurred: "2026-03-01T10:00:00Z"),
        ])
        #expect(status(reversed, "newsletter", at: "2026-03-02T00:00:00Z") == .withdrawn)
    }

    @Test func aGrantIsExpiredFromItsExpiresAtOn() {
        let projection = fold([
            Self.event(
                1,
                .consentGranted,
                purpose: "facebook-pixel",
                occurred: "2026-03-01T10:00:00Z",
                expires: "2026-06-01T00:00:00Z"
            )
        ])
        #expect(status(projection, "facebook-pixel", at: "2026-05-31T23:59:59.999Z") == .granted)
        #expect(status(projection, "facebook-pixel", at: "2026-06-01T00:00:00Z") == .expired)
        let entry = projection.subjects[Self.id(Self.alice)]?.consents(
            at: Self.time("2026-07-01T00:00:00Z"),
            rules: rules
        ).first
        #expect(entry?.expiresAt?.rfc3339 == "2026-06-01T00:00:00.000Z")
        #expect(entry?.since.rfc3339 == "2026-03-01T10:00:00.000Z")
    }

    @Test func thePurposeTTLExpiresGrantsWithoutExpiresAt() {
        // web-analytics has a 90-day TTL in the bundled catalogue.
        let projection = fold([
            Self.event(1, .consentGranted, purpose: "web-analytics", occurred: "2026-01-01T00:00:00Z")
        ])
        #expect(status(projection, "web-analytics", at: "2026-03-31T23:59:59.999Z") == .granted)
        #expect(status(projection, "web-analytics", at: "2026-04-01T00:00:00Z") == .expired)
        // A purpose without TTL never expires by itself.
        let forever = fold([Self.event(1, .consentGranted, purpose: "newsletter", occurred: "2016-01-01T00:00:00Z")])
        #expect(status(forever, "newsletter", at: "2036-01-01T00:00:00Z") == .granted)
    }

    @Test func erasureMakesEveryPairErased() {
        let projection = fold([
            Self.event(1, .consentGranted, purpose: "newsletter", occurred: "2026-03-01T10:00:00Z"),
            Self.event(2, .consentWithdrawn, purpose: "surveys", occurred: "2026-03-01T11:00:00Z"),
            Self.event(3, .consentGranted, subject: Self.bob, purpose: "newsletter", occurred: "2026-03-01T12:00:00Z"),
            Self.event(4, .erasureCompleted, occurred: "2026-04-01T00:00:00Z"),
        ])
        let entries =
            projection.subjects[Self.id(Self.alice)]?.consents(at: Self.time("2026-05-01T00:00:00Z"), rules: rules)
            ?? []
        #expect(entries.map(\.status) == [.erased, .erased])
        #expect(entries.allSatisfy { $0.seq == 4 && $0.since.rfc3339 == "2026-04-01T00:00:00.000Z" })
        let counts = projection.purposeCounts(
            at: Self.time("2026-05-01T00:00:00Z"),
            catalogue: (try? Catalogue.bundled()) ?? .emptyForTests
        )
        let newsletter = counts.first { $0.id == "newsletter" }
        #expect(newsletter?.erased == 1)
        #expect(newsletter?.granted == 1)
        #expect(counts.first { $0.id == "surveys" }?.erased == 1)
        #expect(counts.count == 11)
    }

    @Test func requestsOpenCloseExtendAndGoOverdueAfterTheirDueDate() {
        let opened = "10000000-0000-4000-8000-000000000001"
        let projection = fold([
            Self.event(1, .accessRequested, occurred: "2026-03-01T10:00:00Z", eventId: opened),
            Self.event(
                2,
                .requestExtended,
                occurred: "2026-03-20T10:00:00Z",
                expires: "2026-05-01T10:00:00Z",
                requestId: opened
            ),
        ])
        let request = projection.requests[opened]
        #expect(request?.dueAt.rfc3339 == "2026-05-01T10:00:00.000Z")
        #expect(request?.isOverdue(at: Self.time("2026-05-01T10:00:00Z")) == false)
        #expect(request?.isOverdue(at: Self.time("2026-05-01T10:00:00.001Z")) == true)
        #expect(projection.requests(at: Self.time("2026-06-01T00:00:00Z"), filter: .overdue).count == 1)
        // Overdue is a flag beside the status, never a status of its own.
        let late = request?.json(at: Self.time("2026-06-01T00:00:00Z")).serialized ?? ""
        #expect(late.contains(#""status":"open","overdue":true"#))
        let early = request?.json(at: Self.time("2026-04-01T00:00:00Z")).serialized ?? ""
        #expect(early.contains(#""status":"open","overdue":false"#))
        let closed = fold([
            Self.event(1, .accessRequested, occurred: "2026-03-01T10:00:00Z", eventId: opened),
            Self.event(2, .accessCompleted, occurred: "2026-04-15T10:00:00Z", requestId: opened),
        ])
        #expect(closed.requests[opened]?.status == .completed)
        #expect(closed.requests[opened]?.closedAt?.rfc3339 == "2026-04-15T10:00:00.000Z")
        #expect(closed.requests[opened]?.dueAt.rfc3339 == "2026-03-31T10:00:00.000Z")
        #expect(closed.requests(at: Self.time("2026-06-01T00:00:00Z"), filter: .open).isEmpty)
        #expect(closed.requests(at: Self.time("2026-06-01T00:00:00Z"), filter: .all).count == 1)
    }

    @Test func snapshotsRoundTripExactly() {
        let projection = fold([
            Self.event(
                1,
                .consentGranted,
                purpose: "newsletter",
                occurred: "2026-03-01T10:00:00Z",
                expires: "2027-01-01T00:00:00Z"
            ),
            Self.event(2, .accessRequested, subject: Self.bob, occurred: "2026-03-01T11:00:00Z"),
            Self.event(3, .erasureCompleted, occurred: "2026-04-01T00:00:00Z"),
        ])
        let decoded = LedgerProjection(snapshot: projection.snapshot)
        #expect(decoded == projection)
        #expect(decoded?.snapshot == projection.snapshot)
        var damaged = projection.snapshot
        damaged.removeLast()
        #expect(LedgerProjection(snapshot: damaged) == nil)
    }
}

extension Catalogue {
    /// A catalogue with no purposes, for tests that only need rules.
    static var emptyForTests: Catalogue {
        Catalogue(
            controller: .init(name: "x", contact: ""),
            purposes: [],
            requestDeadlineDays: 30,
            extensionLimitDays: 60,
            clients: nil,
            source: ""
        )
    }
}
