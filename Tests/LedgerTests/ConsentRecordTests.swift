import Ledger
import Projections
import Testing

/// Which event a consent record is of, and the DPV status it gets, at the edges: a back-dated
/// grant, a renewal of a lapsed grant, a withdrawal's notice, expiry at exactly its instant.
struct ConsentRecordTests {
    static let subject = "0123456789abcdef0123456789abcdef"

    /// A consent event of ``subject``, recorded when it occurred unless `recorded` says otherwise.
    private func event(
        _ seq: UInt64,
        _ type: EventType,
        purpose: String = "web-analytics",
        day: Int,
        recordedDay: Int? = nil,
        expiresDay: Int? = nil
    ) -> StoredEvent {
        let start = Timestamp(milliseconds: 1_767_225_600_000)  // 2026-01-01T00:00:00Z
        return StoredEvent(
            seq: seq,
            eventId: "00000000-0000-4000-8000-\(String(repeating: "0", count: 12 - String(seq).count))\(seq)",
            type: type,
            subject: Self.subject,
            purpose: purpose,
            notice: type == .consentGranted ? "policy-v1" : "",
            requestId: "",
            occurredAt: start.adding(days: day),
            recordedAt: start.adding(days: recordedDay ?? day),
            expiresAt: expiresDay.map { start.adding(days: $0) },
            actor: "test",
            payload: [],
            prevHash: [UInt8](repeating: 0, count: 32),
            hash: [UInt8](repeating: UInt8(seq), count: 32)
        )
    }

    private func record(
        _ events: [StoredEvent],
        atDay day: Int,
        purpose: String = "web-analytics"
    ) throws
        -> ConsentRecord
    {
        let catalogue = try Catalogue.bundled()
        return try ConsentRecord.deciding(
            purpose: try #require(catalogue.purpose(purpose)),
            controller: catalogue.controller,
            events: events,
            asOf: Timestamp(milliseconds: 1_767_225_600_000).adding(days: day)
        )
    }

    @Test func aGrantWithinTheTTLOfTheLastIsARenewalAndOneAfterItIsGiven() throws {
        // web-analytics has a 90-day TTL.
        let renewed = try record([event(1, .consentGranted, day: 0), event(2, .consentGranted, day: 89)], atDay: 100)
        #expect(renewed.state == .renewed && renewed.event.seq == 2)
        #expect(renewed.validityDuration == "P90D")
        let afresh = try record([event(1, .consentGranted, day: 0), event(2, .consentGranted, day: 90)], atDay: 100)
        #expect(afresh.state == .given)
        let afterWithdrawal = try record(
            [
                event(1, .consentGranted, day: 0), event(2, .consentWithdrawn, day: 1),
                event(3, .consentGranted, day: 2),
            ],
            atDay: 3
        )
        #expect(afterWithdrawal.state == .given)
    }

    @Test func expiryIsAtItsInstantAndAGrantsOwnExpiryWins() throws {
        let grant = [event(1, .consentGranted, day: 0)]
        #expect(try record(grant, atDay: 89).state == .given)
        #expect(try record(grant, atDay: 90).state == .expired)
        let own = [event(1, .consentGranted, day: 0, expiresDay: 3)]
        #expect(try record(own, atDay: 3).state == .expired)
        #expect(try record(own, atDay: 2).validityDuration == "P3D")
        // A purpose without a TTL never lapses by itself.
        let newsletter = try record(
            [event(1, .consentGranted, purpose: "newsletter", day: 0)],
            atDay: 5000,
            purpose: "newsletter"
        )
        #expect(newsletter.state == .given && newsletter.validityDuration == nil)
    }

    @Test func aWithdrawalCarriesTheNoticeOfTheGrantItWithdraws() throws {
        let withdrawn = try record([event(1, .consentGranted, day: 0), event(2, .consentWithdrawn, day: 1)], atDay: 2)
        #expect(withdrawn.state == .withdrawn && withdrawn.notice?.version == "policy-v1")
        #expect(withdrawn.validityDuration == nil)
        let bare = try record([event(1, .consentWithdrawn, day: 1)], atDay: 2)
        #expect(bare.state == .withdrawn && bare.notice == nil)
    }

    @Test func aBackDatedGrantDoesNotDecideOverALaterWithdrawal() throws {
        // The grant is recorded last but occurred first: the withdrawal decides (SPEC §5).
        let events = [event(1, .consentWithdrawn, day: 5), event(2, .consentGranted, day: 2, recordedDay: 6)]
        let decided = try record(events, atDay: 7)
        #expect(decided.state == .withdrawn && decided.event.seq == 1)
        // Before the grant was recorded, only the withdrawal was known.
        #expect(try record(events, atDay: 5).event.seq == 1)
    }

    @Test func nothingByThenIsNotFound() throws {
        let error = #expect(throws: LedgerError.self) { try record([event(1, .consentGranted, day: 3)], atDay: 2) }
        #expect(error?.code == .notFound)
    }

    @Test func theRecordMatchesItsEventAndNoOther() throws {
        let grant = event(1, .consentGranted, day: 0)
        let json = try record([grant], atDay: 1).json
        #expect(ConsentRecord.mismatch(of: json, with: grant) == nil)
        #expect(json["pii_principal_id"]?.stringValue == Self.subject)
        #expect(ConsentRecord.mismatch(of: json, with: event(2, .consentGranted, day: 0)) == "the record's record_id")
        var withdrawal = grant
        withdrawal.type = .consentWithdrawn
        #expect(ConsentRecord.mismatch(of: json, with: withdrawal) == "the record's event_type")
    }
}
