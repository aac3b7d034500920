import Foundation
import TestSupport
import Testing

@testable import Ledger

struct AppendTests {
    /// One event of every client type, then the ledger's own erasure.completed.
    static func everyType(_ ledger: Ledger) throws {
        let r1 = "a0000000-0000-4000-8000-000000000001"
        let r2 = "a0000000-0000-4000-8000-000000000002"
        let r3 = "a0000000-0000-4000-8000-000000000003"
        let r4 = "a0000000-0000-4000-8000-000000000004"
        let r5 = "a0000000-0000-4000-8000-000000000005"
        let lines = [
            #"{"type":"consent.granted","subject":"eve@example.com","purpose":"newsletter","notice":"policy-v1","expiresAt":"2027-03-01T10:00:00Z","data":{"source":"web"}}"#,
            #"{"type":"consent.withdrawn","subject":"eve@example.com","purpose":"newsletter"}"#,
            #"{"type":"access.requested","subject":"eve@example.com","eventId":"\#(r1)"}"#,
            #"{"type":"access.completed","subject":"eve@example.com","requestId":"\#(r1)"}"#,
            #"{"type":"access.requested","subject":"eve@example.com","eventId":"\#(r2)"}"#,
            #"{"type":"access.rejected","subject":"eve@example.com","requestId":"\#(r2)","data":{"reason":"identity not confirmed"}}"#,
            #"{"type":"correction.requested","subject":"eve@example.com","eventId":"\#(r3)","data":{"field":"name","value":"Eve Q"}}"#,
            #"{"type":"request.extended","subject":"eve@example.com","requestId":"\#(r3)","expiresAt":"2026-04-20T10:00:00Z"}"#,
            #"{"type":"correction.completed","subject":"eve@example.com","requestId":"\#(r3)"}"#,
            #"{"type":"correction.requested","subject":"eve@example.com","eventId":"\#(r4)"}"#,
            #"{"type":"correction.rejected","subject":"eve@example.com","requestId":"\#(r4)"}"#,
            #"{"type":"erasure.requested","subject":"eve@example.com","eventId":"\#(r5)"}"#,
            #"{"type":"erasure.rejected","subject":"eve@example.com","requestId":"\#(r5)"}"#,
            #"{"type":"erasure.requested","subject":"eve@example.com","eventId":"a0000000-0000-4000-8000-000000000006"}"#,
        ]
        _ = try ledger.append(try lines.map { try Fixture.event($0) }, actor: "web-signup")
        _ = try ledger.erase(
            subject: "eve@example.com",
            requestId: "a0000000-0000-4000-8000-000000000006",
            actor: "privacy-office"
        )
    }

    @Test func everyTypeAppendsExportsAndVerifies() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        try Self.everyType(ledger)
        var types = Set<EventType>()
        try ledger.forEachEvent { event in
            types.insert(event.type)
            return true
        }
        #expect(types == Set(EventType.allCases))
        let report = try ledger.verify()
        #expect(report.isValid)
        #expect(report.events == 15)
        let exportPath = directory.path + "/export.ndjson"
        try Fixture.export(ledger).write(toFile: exportPath, atomically: true, encoding: .utf8)
        let fromFile = try ExportVerifier.verify(path: exportPath)
        #expect(fromFile.isValid)
        #expect(fromFile.headHash == report.headHash)
        #expect(fromFile.events == 15)
    }

    @Test func exportFileWithAChangedOrMissingLineFails() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        try Self.everyType(ledger)
        let lines = try Fixture.export(ledger).split(separator: "\n").map(String.init)
        let path = directory.path + "/bad.ndjson"
        var altered = lines
        altered[6] = altered[6].replacingOccurrences(of: "\"actor\":\"web-signup\"", with: "\"actor\":\"web-signuP\"")
        try altered.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ExportVerifier.verify(path: path).failure?.seq == 7)
        var missing = lines
        missing.remove(at: 4)
        try missing.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ExportVerifier.verify(path: path).failure?.seq == 5)
        var swapped = lines
        swapped.swapAt(2, 3)
        try swapped.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ExportVerifier.verify(path: path).failure?.seq == 3)
    }

    @Test func storedEventsCarryPseudonymsAndCiphertextOnly() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let result = try ledger.append(
            [try Fixture.grant("frank@example.com", extra: #","data":{"marker":"PLAINMARKER"}"#)],
            actor: "t"
        )
        let export = try Fixture.export(ledger)
        #expect(!export.contains("frank"))
        #expect(!export.contains("PLAINMARKER"))
        #expect(Fixture.filesContaining("frank@example.com", under: directory.ledger).isEmpty)
        #expect(Fixture.filesContaining("PLAINMARKER", under: directory.ledger).isEmpty)
        let history = try ledger.history(pseudonym: result[0].subject)
        #expect(history.first?.externalId == "frank@example.com")
        #expect(history.first?.data == #"{"marker":"PLAINMARKER"}"#)
        #expect(history.first?.erased == false)
    }

    @Test func sameEventIdAndContentAnswersTheOriginal() throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock()
        let ledger = try Fixture.ledger(in: directory, options: Fixture.options(clock: clock))
        let id = "b0000000-0000-4000-8000-000000000001"
        let first = try ledger.append(
            [
                try Fixture.event(
                    #"{"type":"access.requested","subject":"gina","eventId":"\#(id)","occurredAt":"2026-03-01T11:00:00+01:00","data":{"a":1,"b":2}}"#
                )
            ],
            actor: "t"
        )
        clock.advance(milliseconds: 60_000)
        // Key order, whitespace and zone notation differ; the content is the same.
        let retry = try ledger.append(
            [
                try Fixture.event(
                    #"{ "data": {"b":2, "a":1}, "occurredAt":"2026-03-01T10:00:00Z", "eventId":"\#(id.uppercased())", "subject":"gina", "type":"access.requested" }"#
                )
            ],
            actor: "t"
        )
        #expect(retry[0].replayed)
        var original = first[0]
        original.replayed = true
        #expect(retry[0] == original)
        #expect(retry[0].dueAt != nil)
        #expect(try ledger.head().seq == 1)
        // Within one batch, a repeated line answers like the first.
        let batch = try ledger.append(
            [
                try Fixture.grant("gina", extra: #","eventId":"b0000000-0000-4000-8000-000000000002""#),
                try Fixture.grant("gina", extra: #","eventId":"b0000000-0000-4000-8000-000000000002""#),
            ],
            actor: "t"
        )
        #expect(batch[0].seq == batch[1].seq)
        #expect(try ledger.head().seq == 2)
    }

    @Test func aRetryThatOmitsAGivenOccurredAtIsOtherContent() throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock("2026-03-01T10:00:00.000Z")
        let ledger = try Fixture.ledger(in: directory, options: Fixture.options(clock: clock))
        let id = "b0000000-0000-4000-8000-000000000009"
        // Given explicitly, equal to what the default would have been.
        _ = try ledger.append(
            [
                try Fixture.event(
                    #"{"type":"access.requested","subject":"una","eventId":"\#(id)","occurredAt":"2026-03-01T10:00:00Z"}"#
                )
            ],
            actor: "t"
        )
        #expect(
            errorCode {
                _ = try ledger.append(
                    [try Fixture.event(#"{"type":"access.requested","subject":"una","eventId":"\#(id)"}"#)],
                    actor: "t"
                )
            } == .eventIdConflict
        )
        #expect(
            errorCode {
                _ = try ledger.append(
                    [
                        try Fixture.event(
                            #"{"type":"access.requested","subject":"una","eventId":"\#(id)","occurredAt":"2026-03-01T10:00:00Z","data":{}}"#
                        )
                    ],
                    actor: "t"
                )
            } == .eventIdConflict
        )
        let same = try ledger.append(
            [
                try Fixture.event(
                    #"{"type":"access.requested","subject":"una","eventId":"\#(id)","occurredAt":"2026-03-01T11:00:00+01:00"}"#
                )
            ],
            actor: "t"
        )
        #expect(same[0].replayed)
    }

    @Test func linesOfABatchSeeTheLinesBeforeThem() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let id = "c0000000-0000-4000-8000-000000000001"
        let results = try ledger.append(
            [
                try Fixture.event(#"{"type":"access.requested","subject":"hal","eventId":"\#(id)"}"#),
                try Fixture.event(#"{"type":"access.completed","subject":"hal","requestId":"\#(id)"}"#),
            ],
            actor: "t"
        )
        #expect(results.map(\.seq) == [1, 2])
        #expect(results[0].subject == results[1].subject)
        #expect(results[0].requestId == id)
        // The request is closed now.
        #expect(
            errorCode {
                _ = try ledger.append(
                    [try Fixture.event(#"{"type":"access.completed","subject":"hal","requestId":"\#(id)"}"#)],
                    actor: "t"
                )
            } == .requestNotOpen
        )
    }

    @Test func recordedAtNeverDecreasesWhenTheClockStepsBack() throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock("2026-03-01T10:00:00.000Z")
        let ledger = try Fixture.ledger(in: directory, options: Fixture.options(clock: clock))
        let first = try ledger.append([try Fixture.grant("ida")], actor: "t")
        clock.set("2026-02-01T10:00:00.000Z")
        let second = try ledger.append([try Fixture.grant("ida", "surveys")], actor: "t")
        #expect(second[0].recordedAt == first[0].recordedAt)
        clock.set("2026-03-01T10:00:01.000Z")
        let third = try ledger.append([try Fixture.grant("ida", "web-analytics")], actor: "t")
        #expect(third[0].recordedAt > first[0].recordedAt)
    }

    @Test func occurredAtDefaultsToRecordedAtAndMayBeBackDated() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(
            in: directory,
            options: Fixture.options(clock: ManualClock("2026-03-01T10:00:00.000Z"))
        )
        _ = try ledger.append(
            [
                try Fixture.grant("jon"),
                try Fixture.grant("jon", "surveys", extra: #","occurredAt":"2025-01-15T09:00:00Z""#),
                try Fixture.grant("jon", "facebook-pixel", extra: #","occurredAt":"2026-03-01T10:04:59Z""#),
            ],
            actor: "t"
        )
        let event1 = try #require(try ledger.event(seq: 1))
        let event2 = try #require(try ledger.event(seq: 2))
        #expect(event1.occurredAt == event1.recordedAt)
        #expect(event2.occurredAt.rfc3339 == "2025-01-15T09:00:00.000Z")
    }

    @Test func sameSubjectKeepsOnePseudonymAndOthersGetTheirOwn() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let a = try ledger.append(
            [try Fixture.grant("kim"), try Fixture.grant("lea"), try Fixture.grant("kim", "surveys")],
            actor: "t"
        )
        #expect(a[0].subject == a[2].subject)
        #expect(a[0].subject != a[1].subject)
        #expect(a[0].subject.count == 32)
        #expect(try ledger.pseudonym(of: "kim") == a[0].subject)
    }

    @Test func largeBatchesSealInParallelAndStillChain() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let batch = try (0..<500).map {
            try Fixture.grant("user\($0 % 37)@example.com", extra: #","data":{"n":\#($0)}"#)
        }
        let results = try ledger.append(batch, actor: "bulk")
        #expect(results.map(\.seq) == Array(1...500))
        #expect(try ledger.verify().isValid)
        let history = try ledger.history(pseudonym: results[5].subject)
        #expect(history.count == 14)
        #expect(history.allSatisfy { $0.externalId == "user5@example.com" })
    }

    /// Every append for one subject: its entries fill the subject index's recent level alone, so
    /// each merge at a multiple of the threshold empties that level. This failed with `io_error`
    /// (EINVAL from mdb_cursor_get) at the first merge, and every round after it failed too. The
    /// threshold is an eighth of the real one, so three merges take fifty thousand appends.
    @Test func oneBusySubjectAppendsPastEveryMergeOfTheSubjectIndex() throws {
        let directory = TemporaryDirectory()
        var options = Fixture.options()
        options.subjectIndexMergeThreshold = SubjectIndex.mergeThreshold / 8
        let ledger = try Fixture.ledger(in: directory, options: options)
        let event = try Fixture.grant("busy@example.com")
        var random = SplitMix64(seed: 32_768)
        var head = 0
        var pseudonym: [UInt8] = []
        while head < 3 * options.subjectIndexMergeThreshold + 2_000 {
            // Mostly full batches, with single events and odd sizes in between, so rounds of one
            // event as well as batches of 10,000 cross the boundaries.
            let size = [1, 1, 10_000, 10_000, 1 + random.below(4_000)][random.below(5)]
            let results = try ledger.append(Array(repeating: event, count: size), actor: "load")
            #expect(results.count == size)
            head += size
            #expect(results.last?.seq == UInt64(head))
            if pseudonym.isEmpty { pseudonym = Hex.decode(results[0].subject) ?? [] }
            let seqs = try ledger.events.read { try SubjectIndex.seqs(of: pseudonym, in: $0, events: ledger.events) }
            #expect(seqs.count == head && seqs.first == 1 && seqs.last == UInt64(head), "head \(head)")
        }
        let seqs = try ledger.events.read { try SubjectIndex.seqs(of: pseudonym, in: $0, events: ledger.events) }
        #expect(seqs == Array(1...UInt64(head)))
    }
}
