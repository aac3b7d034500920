import Foundation
import Logging
import Projections
import Testing

@testable import Ledger

/// `Ledger.importNDJSON`: the next chunk is read and prepared on a second thread while one commits,
/// and yet the result is that of reading and appending the chunks one after the other — the same
/// commits, the same refusals, the same line numbers and the same counts in the messages.
struct ImportTests {
    static let grant =
        #"{"type":"consent.granted","subject":"s-%d@example.com","purpose":"newsletter","notice":"policy-v1"}"#

    /// Writes `count` lines (a grant for one of 500 subjects each), replacing the lines `replacing`
    /// names (1-based), and returns the file's path.
    static func file(in directory: TemporaryDirectory, count: Int, replacing: [Int: String] = [:]) throws -> String {
        var text = ""
        text.reserveCapacity(count * 110)
        for line in 1...count {
            text += replacing[line] ?? grant.replacingOccurrences(of: "%d", with: "\(line % 500)")
            text += "\n"
        }
        let path = directory.path + "/events-\(count).ndjson"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func run(
        _ ledger: Ledger,
        _ path: String,
        progress: (UInt64) -> Void = { _ in }
    ) throws
        -> Ledger.ImportSummary
    {
        try ledger.importNDJSON(
            from: try LineReader(path: path),
            actor: "import",
            catalogue: try ledger.catalogue(),
            progress: progress
        )
    }

    @Test func everyLineIsAppendedInOrderWithOneProgressCallPerChunk() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let path = try Self.file(in: directory, count: 25_000, replacing: [7: "", 12_000: "  \t"])
        var reported: [UInt64] = []
        let summary = try Self.run(ledger, path) { reported.append($0) }
        #expect(summary == Ledger.ImportSummary(appended: 24_998, replayed: 0))
        #expect(try ledger.head().seq == 24_998)
        #expect(try ledger.verify().isValid)
        // Three chunks (10,000 events each, the blank lines skipped); the last call is the whole file.
        #expect(reported.count == 3)
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64
        #expect(reported.last == size)
        #expect(reported == reported.sorted())
    }

    @Test func aLineThatDoesNotDecodeStopsTheImportAfterTheChunksBeforeIt() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        // Line 23,456 lies in the third chunk; the reader is well ahead of the writer by then.
        let path = try Self.file(in: directory, count: 60_000, replacing: [23_456: #"{"type":"#])
        let error = try #require(throws: LedgerError.self) { try Self.run(ledger, path) }
        #expect(error.code == .invalidJSON)
        #expect(error.line == 23_456)
        #expect(error.message.hasSuffix("(20000 events before this line's chunk were committed)"), "\(error.message)")
        #expect(try ledger.head().seq == 20_000)
    }

    @Test func aLineTheLedgerRefusesRollsBackItsChunkAndNamesItsFileLine() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        // A blank line before it shifts file lines against event indexes: the error names the file's.
        let unknownRequest =
            #"{"type":"access.completed","subject":"s-1@example.com","requestId":"a0000000-0000-4000-8000-000000000009"}"#
        let path = try Self.file(in: directory, count: 50_000, replacing: [3: "", 15_001: unknownRequest])
        let error = try #require(throws: LedgerError.self) { try Self.run(ledger, path) }
        #expect(error.code == .requestNotOpen)
        #expect(error.line == 15_001)
        #expect(error.message.hasSuffix("(10000 events of earlier chunks were committed)"), "\(error.message)")
        #expect(try ledger.head().seq == 10_000)
        #expect(try ledger.verify().isValid)
    }

    @Test func anOverlongLineIsRefusedAtItsNumberAfterTheChunksBeforeIt() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let path = try Self.file(
            in: directory,
            count: 12_000,
            replacing: [11_000: String(repeating: "x", count: LineReader.defaultMaxLineBytes + 10)]
        )
        let error = try #require(throws: LedgerError.self) { try Self.run(ledger, path) }
        #expect(error.code == .payloadTooLarge)
        #expect(error.line == 11_000)
        #expect(try ledger.head().seq == 10_000)
    }

    @Test func retriedLinesAreCountedAsReplays() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let path = directory.path + "/retries.ndjson"
        let lines = (1...3).map {
            #"{"type":"access.requested","subject":"r@example.com","eventId":"b0000000-0000-4000-8000-00000000000\#($0)"}"#
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try Self.run(ledger, path) == Ledger.ImportSummary(appended: 3, replayed: 0))
        #expect(try Self.run(ledger, path) == Ledger.ImportSummary(appended: 0, replayed: 3))
        #expect(try ledger.head().seq == 3)
    }

    @Test func anEmptyInputAppendsNothing() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let path = directory.path + "/empty.ndjson"
        try "\n\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try Self.run(ledger, path) == Ledger.ImportSummary(appended: 0, replayed: 0))
        #expect(try ledger.head().seq == 0)
    }
    /// `ledgerctl import`'s way: the snapshots written beside the import by a background queue,
    /// not inside its commits. When it returns, every boundary up to the head has its snapshot
    /// and each is the fold of its prefix; when a line is refused after chunks committed, those
    /// chunks' snapshots are stored too and the refusal is what is thrown.
    @Test func anImportWithItsSnapshotsWrittenBesideLeavesEveryBoundaryStored() throws {
        let directory = TemporaryDirectory()
        let created = try Fixture.ledger(in: directory, snapshotInterval: 2_500)
        let path = try Self.file(in: directory, count: 47_000)
        let summary = try created.importWritingSnapshotsBeside(
            from: try LineReader(path: path),
            actor: "import",
            catalogue: try created.catalogue(),
            logger: Logger(label: "test")
        )
        #expect(summary.appended == 47_000)
        #expect(try created.snapshotSeqs() == (1...18).map { UInt64($0) * 2_500 })
        #expect(try created.rebuildProjections().matches)

        let refused = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: refused, snapshotInterval: 2_500)
        let bad = try Self.file(in: refused, count: 25_000, replacing: [23_456: #"{"type":"#])
        let error = try #require(throws: LedgerError.self) {
            try ledger.importWritingSnapshotsBeside(
                from: try LineReader(path: bad),
                actor: "import",
                catalogue: try ledger.catalogue(),
                logger: Logger(label: "test")
            )
        }
        #expect(error.code == .invalidJSON && error.line == 23_456)
        #expect(try ledger.head().seq == 20_000)
        #expect(try ledger.snapshotSeqs() == (1...8).map { UInt64($0) * 2_500 })
        #expect(try ledger.rebuildProjections().matches)
    }
    /// The last step of such an import: catch-ups until the last boundary at or below the head
    /// has its snapshot, going on from whatever another writer stored meanwhile.
    @Test func storingWhatIsDueGoesOnFromSnapshotsAnotherWriterStored() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory, snapshotInterval: 100)
        _ = try ledger.append(try (0..<120).map { try Fixture.grant("d-\($0 % 30)@example.no") }, actor: "t")
        // Another writer stores the first boundary's snapshot.
        #expect(try SnapshotCatchUp.run(ledger) == 1)
        _ = try ledger.append(try (0..<250).map { try Fixture.grant("d-\($0 % 40)@example.no") }, actor: "t")
        let scheduler = SnapshotScheduler(ledger: ledger, logger: Logger(label: "test"))
        #expect(try scheduler.storeDueNow())
        #expect(try ledger.snapshotSeqs() == [100, 200, 300])
        #expect(try ledger.rebuildProjections().matches)
        // Nothing due: nothing runs, nothing changes.
        #expect(try scheduler.storeDueNow())
        #expect(try ledger.snapshotSeqs() == [100, 200, 300])
    }
}
