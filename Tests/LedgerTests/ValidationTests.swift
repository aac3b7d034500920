import Foundation
import Testing

@testable import Ledger

/// Every bad-input error code of SPEC §7 that one event or batch can earn, each leaving the log
/// exactly as it was.
struct ValidationTests {
    static let requestId = "11111111-1111-4111-8111-111111111111"

    /// Cases decided by decoding alone (JSON, unknown fields, type, required fields, formats,
    /// purpose, notice).
    static let decodeCases: [(String, String)] = [
        ("{not json", "invalid_json"),
        ("[1,2]", "invalid_json"),
        (
            #"{"type":"consent.granted","subject":"a","purpose":"newsletter","notice":"policy-v1","colour":"red"}"#,
            "unknown_field"
        ),
        (#"{"subject":"a"}"#, "missing_field"),
        (#"{"type":"consent.revoked","subject":"a"}"#, "unknown_type"),
        (#"{"type":"erasure.completed","subject":"a"}"#, "forbidden"),
        (#"{"type":"consent.granted","purpose":"newsletter","notice":"policy-v1"}"#, "missing_field"),
        (#"{"type":"consent.granted","subject":"a","notice":"policy-v1"}"#, "missing_field"),
        (#"{"type":"consent.granted","subject":"a","purpose":"newsletter"}"#, "missing_field"),
        (#"{"type":"access.completed","subject":"a"}"#, "missing_field"),
        (
            #"{"type":"request.extended","subject":"a","requestId":"11111111-1111-4111-8111-111111111111"}"#,
            "missing_field"
        ),
        (#"{"type":"access.requested","subject":""}"#, "missing_field"),
        (#"{"type":"access.requested","subject":"a\u0007b"}"#, "invalid_field"),
        (#"{"type":"access.requested","subject":"a\u0085b"}"#, "invalid_field"),
        (#"{"type":"access.requested","subject":42}"#, "invalid_field"),
        (#"{"type":"access.requested","subject":"a","eventId":"not-a-uuid"}"#, "invalid_field"),
        (#"{"type":"access.requested","subject":"a","occurredAt":"yesterday"}"#, "invalid_field"),
        (
            #"{"type":"access.requested","subject":"a","requestId":"11111111-1111-4111-8111-111111111111"}"#,
            "invalid_field"
        ),
        (#"{"type":"access.requested","subject":"a","expiresAt":"2027-01-01T00:00:00Z"}"#, "invalid_field"),
        (#"{"type":"consent.withdrawn","subject":"a","purpose":"newsletter","notice":"policy-v1"}"#, "invalid_field"),
        (#"{"type":"access.requested","subject":"a","data":[1]}"#, "invalid_field"),
        (#"{"type":"consent.granted","subject":"a","purpose":"telepathy","notice":"policy-v1"}"#, "unknown_purpose"),
        (#"{"type":"consent.granted","subject":"a","purpose":"orders-quotes"}"#, "purpose_not_consent_based"),
        (#"{"type":"consent.granted","subject":"a","purpose":"newsletter","notice":"policy-v9"}"#, "unknown_notice"),
    ]

    @Test(arguments: decodeCases)
    func decodingRefusesWithTheFirstBrokenRule(json: String, code: String) throws {
        let catalogue = try Catalogue.bundled()
        let error = #expect(throws: LedgerError.self) {
            try ClientEvent.decode(json: Array(json.utf8), catalogue: catalogue)
        }
        #expect(error?.code.rawValue == code)
    }

    @Test func externalIdLimitIsInBytes() throws {
        let catalogue = try Catalogue.bundled()
        let ok = String(repeating: "ø", count: 128)  // 256 bytes
        let long = ok + "x"
        func event(_ subject: String) -> [UInt8] {
            JSONValue.object([("type", .string("access.requested")), ("subject", .string(subject))]).utf8
        }
        _ = try ClientEvent.decode(json: event(ok), catalogue: catalogue)
        let error = #expect(throws: LedgerError.self) {
            try ClientEvent.decode(json: event(long), catalogue: catalogue)
        }
        #expect(error?.code == .invalidField)
    }

    @Test func errorMessagesNeverRepeatTheExternalId() throws {
        let catalogue = try Catalogue.bundled()
        let error = #expect(throws: LedgerError.self) {
            try ClientEvent.decode(
                json: JSONValue.object([
                    ("type", .string("access.requested")), ("subject", .string("secret@example.com\u{1}")),
                ]).utf8,
                catalogue: catalogue
            )
        }
        #expect(error?.message.contains("secret") == false)
    }

    @Test func dataOverSixteenKiBIsPayloadTooLarge() throws {
        let big = String(repeating: "x", count: 16_400)
        let error = #expect(throws: LedgerError.self) {
            try Fixture.event(#"{"type":"access.requested","subject":"a","data":{"note":"\#(big)"}}"#)
        }
        #expect(error?.code == .payloadTooLarge)
        let fits = String(repeating: "x", count: 16_384 - 11)  // {"note":"…"} is exactly 16,384 bytes
        _ = try Fixture.event(#"{"type":"access.requested","subject":"a","data":{"note":"\#(fits)"}}"#)
    }

    /// Cases decided against the ledger's state; each must leave the log unchanged.
    @Test func stateRulesRefuseAndChangeNothing() throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock("2026-03-10T12:00:00.000Z")
        let ledger = try Fixture.ledger(in: directory, options: Fixture.options(clock: clock))
        let opened = try ledger.append(
            [try Fixture.event(#"{"type":"access.requested","subject":"alice","eventId":"\#(Self.requestId)"}"#)],
            actor: "t"
        )
        _ = try ledger.append(
            [try Fixture.grant("alice", extra: #","eventId":"22222222-2222-4222-8222-222222222222""#)],
            actor: "t"
        )
        #expect(opened.first?.dueAt?.rfc3339 == "2026-04-09T12:00:00.000Z")
        let before = try Fixture.export(ledger)
        let head = try ledger.head()

        let cases: [(String, LedgerError.Code)] = [
            (#"{"type":"access.requested","subject":"a","occurredAt":"2026-03-10T12:05:00.001Z"}"#, .occurredInFuture),
            (
                #"{"type":"consent.granted","subject":"a","purpose":"newsletter","notice":"policy-v1","occurredAt":"2026-03-10T10:00:00Z","expiresAt":"2026-03-10T09:00:00Z"}"#,
                .invalidField
            ),
            (
                #"{"type":"access.completed","subject":"alice","requestId":"33333333-3333-4333-8333-333333333333"}"#,
                .requestNotOpen
            ),
            (#"{"type":"correction.completed","subject":"alice","requestId":"\#(Self.requestId)"}"#, .requestNotOpen),
            (#"{"type":"access.completed","subject":"bob","requestId":"\#(Self.requestId)"}"#, .requestNotOpen),
            (
                #"{"type":"request.extended","subject":"alice","requestId":"\#(Self.requestId)","expiresAt":"2026-04-01T00:00:00Z"}"#,
                .invalidField
            ),
            (
                #"{"type":"request.extended","subject":"alice","requestId":"\#(Self.requestId)","expiresAt":"2026-06-08T12:00:00.001Z"}"#,
                .invalidField
            ),
            (
                #"{"type":"consent.withdrawn","subject":"alice","purpose":"newsletter","eventId":"22222222-2222-4222-8222-222222222222"}"#,
                .eventIdConflict
            ),
            (
                #"{"type":"consent.granted","subject":"bob","purpose":"newsletter","notice":"policy-v1","eventId":"22222222-2222-4222-8222-222222222222"}"#,
                .eventIdConflict
            ),
        ]
        for (json, code) in cases {
            let event = try Fixture.event(json)
            #expect(errorCode { _ = try ledger.append([event], actor: "t") } == code, "\(json)")
        }
        #expect(errorCode { _ = try ledger.erase(subject: "nobody", requestId: nil, actor: "t") } == .subjectNotFound)
        #expect(
            errorCode { _ = try ledger.erase(subject: "alice", requestId: Self.requestId, actor: "t") }
                == .requestNotOpen
        )
        #expect(errorCode { _ = try ledger.erase(subject: "alice", requestId: "nope", actor: "t") } == .invalidField)
        let tooMany = Array(repeating: try Fixture.grant("a"), count: Ledger.maxBatchSize + 1)
        #expect(errorCode { _ = try ledger.append(tooMany, actor: "t") } == .batchTooLarge)
        #expect(try Fixture.export(ledger) == before)
        #expect(try ledger.head() == head)
        #expect(try ledger.pseudonym(of: "bob") == nil, "a refused event must not create its subject")
    }

    @Test func aBatchWithOneBadLineAppendsNothingAndNamesTheLine() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let batch = [
            try Fixture.grant("carol"),
            try Fixture.event(#"{"type":"access.requested","subject":"carol"}"#),
            try Fixture.event(
                #"{"type":"access.completed","subject":"carol","requestId":"44444444-4444-4444-8444-444444444444"}"#
            ),
        ]
        let error = #expect(throws: LedgerError.self) { try ledger.append(batch, actor: "t") }
        #expect(error?.code == .requestNotOpen)
        #expect(error?.line == 3)
        #expect(try ledger.head().seq == 0)
        #expect(try ledger.pseudonym(of: "carol") == nil)
    }

    @Test func extensionOnceAndWithinSixtyDays() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(
            in: directory,
            options: Fixture.options(clock: ManualClock("2026-03-10T12:00:00.000Z"))
        )
        _ = try ledger.append(
            [try Fixture.event(#"{"type":"erasure.requested","subject":"dan","eventId":"\#(Self.requestId)"}"#)],
            actor: "t"
        )
        let extend =
            #"{"type":"request.extended","subject":"dan","requestId":"\#(Self.requestId)","expiresAt":"2026-06-08T12:00:00.000Z"}"#
        let extended = try ledger.append([try Fixture.event(extend)], actor: "t")
        #expect(extended.first?.seq == 2)
        let again =
            #"{"type":"request.extended","subject":"dan","requestId":"\#(Self.requestId)","expiresAt":"2026-06-08T12:00:00.001Z"}"#
        #expect(errorCode { _ = try ledger.append([try Fixture.event(again)], actor: "t") } == .invalidField)
    }
}
