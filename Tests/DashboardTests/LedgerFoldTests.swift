import Dashboard
import Foundation
import Ledger
import Projections
import Testing

/// The dashboard's fold: the projections' own at every date, the same whether folded at once or
/// extended step by step, and each pair's notice version by the rule of consent records.
struct LedgerFoldTests {
    @Test func theFoldIsTheProjectionAtEveryGoldenDateAndExtendingItChangesNothing() throws {
        let fixture = try DashboardFixture()
        let ledger = fixture.ledger
        let rules = try ledger.projectionRules()
        var stepwise = LedgerFold(rules: rules)
        for date in ["2025-03-31T23:59:59.999Z", DashboardFixture.midYear, DashboardFixture.yearEnd] {
            let time = try DashboardFixture.time(date)
            let atOnce = try LedgerFold.read(from: ledger, asOf: time)
            #expect(atOnce.projection == (try ledger.projection(asOf: time)), "\(date)")
            #expect(atOnce.throughSeq == UInt64(try DashboardFixture.goldenSeq(date)))
            try stepwise.advance(through: try ledger.prefixLength(asOf: time), in: ledger)
            #expect(stepwise.projection == atOnce.projection && stepwise.extensions == atOnce.extensions, "\(date)")
            for (subject, projection) in atOnce.projection.subjects {
                for purpose in projection.consents.keys {
                    #expect(
                        stepwise.notice(of: subject, purpose: purpose) == atOnce.notice(of: subject, purpose: purpose)
                    )
                }
            }
        }
        // Every extension of the year, with the due date it moved.
        let stored = try ledger.storedRequests().values.filter(\.extended)
        #expect(!stored.isEmpty)
        #expect(Set(stepwise.extensions.keys) == Set(stored.map(\.requestId)))
        for request in stored {
            #expect(stepwise.extensions[request.requestId]?.originalDueAt == request.originalDueAt)
        }
    }

    @Test func eachPairsNoticeIsTheOneItsConsentRecordNames() throws {
        let fixture = try DashboardFixture()
        let ledger = fixture.ledger
        let asOf = try DashboardFixture.time(DashboardFixture.yearEnd)
        let fold = try LedgerFold.read(from: ledger, asOf: asOf)
        let catalogue = try ledger.catalogue()
        var pairs = 0
        for (subject, projection) in fold.projection.subjects where projection.erasure == nil {
            let records = try ConsentRecord.all(
                catalogue: catalogue,
                events: try ledger.subjectEvents(pseudonym: subject.hex, asOf: asOf),
                asOf: asOf
            )
            #expect(records.count == projection.consents.count)
            for record in records {
                #expect(fold.notice(of: subject, purpose: record.purpose.id) == record.notice?.version)
                pairs += 1
            }
        }
        #expect(pairs > 500)
    }

    @Test func aWithdrawalCountsUnderTheNoticeOfTheGrantItWithdrew() throws {
        let ledger = try NoticeLedger()
        let fold = try LedgerFold.read(from: ledger.ledger, asOf: Timestamp.latest)
        func notice(_ name: String) throws -> String? {
            let subject = try #require(try ledger.ledger.pseudonym(of: name).flatMap(Pseudonym.init(hex:)))
            return fold.notice(of: subject, purpose: "newsletter")
        }
        #expect(try notice("granted-v1@example.com") == "policy-v1")
        #expect(try notice("renewed-v2@example.com") == "policy-v2")
        #expect(try notice("withdrawn-v2@example.com") == "policy-v2")
        // A grant under v2 recorded after the withdrawal but back-dated before it: the withdrawal
        // withdrew that grant, not the earlier one under v1.
        #expect(try notice("backdated@example.com") == "policy-v2")
        #expect(try notice("never-granted@example.com") == nil)
        #expect(try notice("lapsed-v1@example.com") == "policy-v1")
        // The same as the consent records say, for every subject.
        let catalogue = try ledger.ledger.catalogue()
        for name in NoticeLedger.subjects {
            let pseudonym = try #require(try ledger.ledger.pseudonym(of: name))
            let record = try ConsentRecord.all(
                catalogue: catalogue,
                events: try ledger.ledger.subjectEvents(pseudonym: pseudonym),
                asOf: Timestamp.latest
            ).first
            #expect(try notice(name) == record?.notice?.version, "\(name)")
        }
    }
}

/// A ledger whose newsletter has two notice versions, with one subject for each way a pair's
/// notice is decided (``subjects``); recorded now, the events' times in January 2025. Removed
/// when dropped.
final class NoticeLedger {
    static let subjects = [
        "granted-v1@example.com", "renewed-v2@example.com", "withdrawn-v2@example.com", "backdated@example.com",
        "never-granted@example.com", "lapsed-v1@example.com",
    ]

    let directory: String
    let ledger: Ledger

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("notices-\(UUID().uuidString)").path
        let source = Catalogue.bundledSource.replacing(
            "\n  - id: web-analytics\n",
            with: "\n      - version: policy-v2\n        text: \"The second newsletter notice.\"\n"
                + "  - id: web-analytics\n",
            maxReplacements: 1
        )
        let catalogue = try Catalogue.parse(source)
        ledger = try Ledger.create(at: directory + "/ledger", catalogue: catalogue).ledger
        func grant(_ subject: String, _ notice: String, _ day: Int, expires: Int? = nil) -> String {
            let expiry = expires.map { #","expiresAt":"2025-01-\#(String(format: "%02d", $0))T00:00:00Z""# } ?? ""
            return
                #"{"type":"consent.granted","subject":"\#(subject)","purpose":"newsletter","notice":"\#(notice)","occurredAt":"2025-01-\#(String(format: "%02d", day))T12:00:00Z"\#(expiry)}"#
        }
        func withdraw(_ subject: String, _ day: Int) -> String {
            #"{"type":"consent.withdrawn","subject":"\#(subject)","purpose":"newsletter","occurredAt":"2025-01-\#(String(format: "%02d", day))T12:00:00Z"}"#
        }
        let batches = [
            [
                grant("granted-v1@example.com", "policy-v1", 1), grant("renewed-v2@example.com", "policy-v1", 1),
                grant("renewed-v2@example.com", "policy-v2", 5), grant("withdrawn-v2@example.com", "policy-v2", 2),
                withdraw("withdrawn-v2@example.com", 6), grant("backdated@example.com", "policy-v1", 10),
                withdraw("backdated@example.com", 20), withdraw("never-granted@example.com", 3),
                grant("lapsed-v1@example.com", "policy-v1", 1, expires: 8),
            ],
            [grant("backdated@example.com", "policy-v2", 15)],
        ]
        for lines in batches {
            let events = try lines.map { try ClientEvent.decode(json: Array($0.utf8), catalogue: catalogue) }
            _ = try ledger.append(events, actor: "tests")
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }
}
