import Foundation
import GoldenFixture
import Testing

@testable import Ledger
@testable import Projections

/// The golden snapshots of issue 3: the fixture's head hash, whole-ledger state and purpose counts
/// at four dates, three subjects at three dates each, and overdue requests at two dates.
/// Re-record with `RECORD_SNAPSHOTS=1 swift test --filter GoldenFixtureTests` and review the diff.
struct GoldenFixtureTests {
    static let suite = "GoldenFixtureTests"

    /// The golden files' names and contents for a fixture.
    static func render(_ fixture: YearAtActivepeople) throws -> [(name: String, text: String)] {
        let ledger = fixture.ledger
        let catalogue = try ledger.catalogue()
        let rules = ProjectionRules(catalogue: catalogue)
        let head = try ledger.head()
        var files: [(String, String)] = [("head.txt", "seq \(head.seq)\nhash \(Hex.encode(head.hash))\n")]
        for date in YearAtActivepeople.goldenDates {
            let time = try #require(Timestamp(rfc3339: date))
            files.append(
                (
                    "state-\(date.prefix(10)).ndjson",
                    renderState(try ledger.projection(asOf: time), catalogue: catalogue, at: time)
                )
            )
        }
        var subjects = ""
        for name in fixture.followed.keys.sorted() {
            let pseudonym = try #require(fixture.followed[name])
            for date in YearAtActivepeople.subjectDates {
                let time = try #require(Timestamp(rfc3339: date))
                let consents = try ledger.subjectProjection(pseudonym: pseudonym, asOf: time).consents(
                    at: time,
                    rules: rules
                )
                subjects +=
                    JSONValue.object([
                        ("name", .string(name)), ("pseudonym", .string(pseudonym)), ("asOf", .string(time.rfc3339)),
                        ("consents", .array(consents.map(\.json))),
                    ]).serialized + "\n"
            }
        }
        files.append(("subjects.ndjson", subjects))
        var overdue = ""
        for date in YearAtActivepeople.overdueDates {
            let time = try #require(Timestamp(rfc3339: date))
            let requests = try ledger.projection(asOf: time).requests(at: time, filter: .overdue)
            overdue +=
                JSONValue.object([("asOf", .string(time.rfc3339)), ("overdue", .int(Int64(requests.count)))]).serialized
                + "\n"
            for request in requests { overdue += request.json(at: time).serialized + "\n" }
        }
        files.append(("overdue.ndjson", overdue))
        return files
    }

    /// Whole-ledger state at `time`: a header line, one line per subject, one per purpose.
    static func renderState(_ projection: LedgerProjection, catalogue: Catalogue, at time: Timestamp) -> String {
        var text =
            JSONValue.object([("asOf", .string(time.rfc3339)), ("seq", .int(Int64(projection.throughSeq)))]).serialized
            + "\n"
        for subject in projection.consentState(at: time, rules: ProjectionRules(catalogue: catalogue)) {
            text +=
                JSONValue.object([
                    ("pseudonym", .string(subject.pseudonym)), ("erased", .bool(subject.erased)),
                    ("consents", .array(subject.consents.map(\.json))),
                ]).serialized + "\n"
        }
        for count in projection.purposeCounts(at: time, catalogue: catalogue) { text += count.json.serialized + "\n" }
        return text
    }

    @Test func theFixtureMatchesItsGoldenFiles() throws {
        let directory = TemporaryDirectory()
        let fixture = try YearAtActivepeople.build(in: directory.ledger)
        #expect(try fixture.ledger.head().seq >= 2_000)
        var purposes = Set<String>()
        try fixture.ledger.forEachEvent { event in
            if !event.purpose.isEmpty { purposes.insert(event.purpose) }
            return true
        }
        #expect(purposes.count == 11, "the fixture covers every purpose")
        for (name, text) in try Self.render(fixture) { Golden.assertMatches(text, suite: Self.suite, name: name) }
    }

    @Test func oneChangedEventChangesTheGoldenOutput() throws {
        let directory = TemporaryDirectory()
        let altered = try Self.render(try YearAtActivepeople.build(in: directory.ledger, alteringOneEvent: true))
        var differing: [String] = []
        for (name, text) in altered {
            let url = Golden.root.appendingPathComponent(Self.suite).appendingPathComponent(name)
            let golden = try String(contentsOf: url, encoding: .utf8)
            if golden != text { differing.append(name) }
        }
        #expect(differing.contains("head.txt"))
        #expect(differing.contains { $0.hasPrefix("state-") })
    }

    @Test func theExportAloneGivesTheSameStateAtEveryGoldenDate() throws {
        let directory = TemporaryDirectory()
        let fixture = try YearAtActivepeople.build(in: directory.ledger)
        let exportPath = directory.path + "/export.ndjson"
        try Fixture.export(fixture.ledger).write(toFile: exportPath, atomically: true, encoding: .utf8)
        let catalogue = try fixture.ledger.catalogue()
        for date in YearAtActivepeople.goldenDates {
            let time = try #require(Timestamp(rfc3339: date))
            let fromExport = try ExportProjection.fold(
                path: exportPath,
                asOf: time,
                rules: ProjectionRules(catalogue: catalogue)
            )
            #expect(fromExport.report.isValid)
            let fromLedger = try fixture.ledger.projection(asOf: time)
            #expect(fromExport.projection == fromLedger)
            #expect(
                Self.renderState(fromExport.projection, catalogue: catalogue, at: time)
                    == Self.renderState(fromLedger, catalogue: catalogue, at: time)
            )
        }
    }

    @Test func snapshotsGiveTheSameAnswerAsFoldingFromSeqOne() throws {
        let directory = TemporaryDirectory()
        let fixture = try YearAtActivepeople.build(in: directory.ledger)
        let seqs = try fixture.ledger.snapshotSeqs()
        #expect(seqs.count >= 8)
        #expect(seqs.allSatisfy { $0 % YearAtActivepeople.snapshotInterval == 0 })
        let rules = try fixture.ledger.projectionRules()
        for length in [UInt64(1), 249, 250, 251, 777, 1_000, try fixture.ledger.head().seq] {
            var scratch = LedgerProjection()
            try fixture.ledger.forEachEvent(from: 1, through: length) { scratch.apply($0, rules: rules) }
            #expect(try fixture.ledger.projection(through: length, rules: rules) == scratch)
        }
    }

    @Test func rebuildReproducesTheStoredProjectionsAndFindsAnAlteredOne() throws {
        let directory = TemporaryDirectory()
        let fixture = try YearAtActivepeople.build(in: directory.ledger)
        let ledger = fixture.ledger
        let clean = try ledger.rebuildProjections()
        #expect(clean.matches)
        #expect(clean.snapshotsCompared == (try ledger.snapshotSeqs()).count)
        #expect(clean.requestsCompared > 50)
        // Alter one subject's decision inside the snapshot at seq 500.
        let stored = try #require(try ledger.snapshot(atOrBefore: 500))
        var projection = try #require(LedgerProjection(snapshot: stored.bytes))
        let victim = try #require(
            projection.subjects.keys.sorted().first { !(projection.subjects[$0]?.consents.isEmpty ?? true) }
        )
        let purpose = try #require(projection.subjects[victim]?.consents.keys.sorted().first)
        projection.subjects[victim]?.consents[purpose]?.granted.toggle()
        try ledger.events.write { txn in
            try SnapshotStore.put(projection.snapshot, at: stored.seq, in: txn, events: ledger.events)
        }
        let altered = try ledger.rebuildProjections()
        #expect(altered.difference == "the snapshot at seq 500 differs for subject \(victim)")
    }

    @Test func rebuildFindsAnAlteredRequestRecord() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let id = "f0000000-0000-4000-8000-000000000001"
        _ = try ledger.append(
            [try Fixture.event(#"{"type":"access.requested","subject":"r","eventId":"\#(id)"}"#)],
            actor: "t"
        )
        #expect(try ledger.rebuildProjections().matches)
        try ledger.events.write { txn in
            let key = UUIDText.bytes(id)
            let table = ledger.events.table(EventsSchema.requests)
            let raw = try #require(try txn.get(key, in: table))
            var record = try #require(RequestRecord(encoded: raw))
            record.dueAt = record.dueAt.adding(days: 1)
            try txn.put(record.encoded, forKey: key, in: table)
        }
        #expect(
            try ledger.rebuildProjections().difference
                == "request \(id): the stored record differs from the one the log gives"
        )
    }
}
