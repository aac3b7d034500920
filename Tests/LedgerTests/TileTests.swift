import Foundation
import TestSupport
import Testing

@testable import Ledger

/// The log as C2SP tlog-tiles (`LogTile`, `Ledger.tileData`, `Ledger.exportTiles`): paths as the
/// spec writes them, the tiles a tree has, and directories written by the export read back by
/// code the project did not write — Go's `sumdb/tlog` through `tlogcheck -tiles` — at many tree
/// sizes, across an erasure, incrementally and beyond a level-1 tile; altered tiles are refused,
/// and so are directories that hold another log.
struct TileTests {
    // MARK: Paths

    @Test func indexesAndPathsAreWrittenAsTheSpecWritesThem() throws {
        #expect(LogTile.encodedIndex(1_234_067) == "x001/x234/067")
        #expect(LogTile.encodedIndex(0) == "000")
        #expect(LogTile.encodedIndex(999) == "999")
        #expect(LogTile.encodedIndex(1_000) == "x001/000")
        #expect(LogTile.encodedIndex(UInt64.max) == "x018/x446/x744/x073/x709/x551/615")
        #expect(LogTile(kind: .hashes(level: 0), index: 0).path == "tile/0/000")
        #expect(LogTile(kind: .hashes(level: 2), index: 1_234_067, width: 5).path == "tile/2/x001/x234/067.p/5")
        #expect(LogTile(kind: .entries, index: 1_000, width: 255).path == "tile/entries/x001/000.p/255")
        let tiles = [
            LogTile(kind: .hashes(level: 0), index: 0), LogTile(kind: .hashes(level: 63), index: UInt64.max, width: 1),
            LogTile(kind: .entries, index: 999_999, width: 17), LogTile(kind: .entries, index: 1_000_000),
            LogTile(kind: .hashes(level: 1), index: 12, width: 255),
        ]
        for tile in tiles { #expect(try LogTile(path: tile.path) == tile, "\(tile.path)") }
    }

    @Test(arguments: [
        "", "tile", "tile/0", "tile/0/", "tiles/0/000", "/tile/0/000", "tile/x/1", "tile/00/000", "tile/64/000",
        "tile/-1/000", "tile/+1/000", "tile/data/000", "tile/0/00", "tile/0/0000", "tile/0/x1000/000", "tile/0/x001",
        "tile/0/001/x002", "tile/0/x000/001", "tile/0/x001/x234", "tile/0/00a", "tile/0/٠٠٠", "tile/0/000/",
        "tile/0//000", "tile/0/x001/..", "tile/0/000.p", "tile/0/000.p/", "tile/0/000.p/0", "tile/0/000.p/256",
        "tile/0/000.p/05", "tile/0/000.p/5/6", "tile/0/.p/5", "tile/0/000.q/5", "tile/entries/000.p/x5",
        "tile/0/x999/x999/x999/x999/x999/x999/x999/999", "tile/0/x019/x000/x000/x000/x000/x000/000",
        "tile/0/" + String(repeating: "x001/", count: 30) + "000",
    ])
    func malformedPathsAreRefusedWithInvalidField(path: String) throws {
        let error = try #require(throws: LedgerError.self) { try LogTile(path: path) }
        #expect(error.code == .invalidField)
        #expect(!error.message.contains(path) || path.count <= 4)
    }

    // MARK: The tiles of a tree

    @Test func aTreeHasTheTilesTheSpecLists() {
        // The spec's examples: 70,000 leaves and 256 leaves.
        let large = Array(LogTile.tiles(ofTreeOf: 70_000))
        func level(_ level: UInt8) -> [LogTile] { large.filter { $0.kind == .hashes(level: level) } }
        #expect(level(0).filter(\.isFull).count == 273)
        #expect(level(0).filter { !$0.isFull }.map(\.width) == [112])
        #expect(level(1).filter(\.isFull).count == 1)
        #expect(level(1).filter { !$0.isFull }.map(\.width) == [17])
        #expect(level(2).map(\.path) == ["tile/2/000.p/1"])
        #expect(large.filter { $0.kind == .entries }.count == 274)
        #expect(large.filter { $0.kind == .records }.count == 274)
        #expect(large.count == 274 + 274 + 274 + 2 + 1)
        #expect(
            Array(LogTile.tiles(ofTreeOf: 256)).map(\.path)
                == ["tile/entries/000", "records/000", "tile/0/000", "tile/1/000.p/1"]
        )
        #expect(Array(LogTile.tiles(ofTreeOf: 0)).isEmpty)
        for size: UInt64 in [0, 1, 2, 255, 256, 257, 511, 512, 513, 65_535, 65_536, 65_537, 70_000, 16_777_217] {
            let tiles = Array(LogTile.tiles(ofTreeOf: size))
            #expect(tiles.count == LogTile.count(ofTreeOf: size), "\(size)")
            #expect(tiles.allSatisfy { $0.isDetermined(byTreeOf: size) }, "\(size)")
            #expect(Set(tiles.map(\.path)).count == tiles.count)
        }
        // Whether a tree holds a tile, without overflow at the edges.
        #expect(LogTile(kind: .hashes(level: 0), index: 0, width: 5).isDetermined(byTreeOf: 5))
        #expect(!LogTile(kind: .hashes(level: 0), index: 0, width: 6).isDetermined(byTreeOf: 5))
        #expect(LogTile(kind: .hashes(level: 1), index: 0, width: 1).leavesNeeded == 256)
        #expect(LogTile(kind: .hashes(level: 7), index: 0, width: 255).leavesNeeded == 255 << 56)
        #expect(LogTile(kind: .hashes(level: 8), index: 0, width: 1).leavesNeeded == nil)
        #expect(LogTile(kind: .hashes(level: 63), index: 0, width: 1).leavesNeeded == nil)
        #expect(LogTile(kind: .entries, index: UInt64.max).leavesNeeded == nil)
        #expect(!LogTile(kind: .entries, index: UInt64.max).isDetermined(byTreeOf: .max))
    }

    // MARK: Tile bytes

    @Test func tileBytesAreTheTreesHashesAndTheExportRecords() throws {
        let directory = TemporaryDirectory()
        let (ledger, _) = try ledgerWithAnErasure(events: 600, in: directory)
        var hashes: [[UInt8]] = []
        var records: [[UInt8]] = []
        try ledger.forEachEvent { event in
            hashes.append(event.hash)
            records.append(Array(event.exportRecord.serialized.utf8))
            return true
        }
        let leaves = try ledger.tileData(LogTile(kind: .hashes(level: 0), index: 1))
        #expect(leaves.count == 8_192)
        #expect(chunks(leaves) == hashes[256..<512].map(MerkleTree.leafHash))
        let partial = try ledger.tileData(LogTile(kind: .hashes(level: 0), index: 2, width: 88))
        #expect(chunks(partial) == hashes[512..<600].map(MerkleTree.leafHash))
        // Level 1: the roots of the full level-0 tiles.
        let upper = try ledger.tileData(LogTile(kind: .hashes(level: 1), index: 0, width: 2))
        var first = MerkleAccumulator()
        var second = MerkleAccumulator()
        for hash in hashes[0..<256] { first.append(eventHash: hash) }
        for hash in hashes[256..<512] { second.append(eventHash: hash) }
        #expect(chunks(upper) == [first.root, second.root])
        #expect(first.root == (try ledger.merkleRoot(size: 256)))
        // Entry bundles: the event hashes (the data each leaf hashes), each after its big-endian
        // length; beside them, the export records.
        #expect(try entries(ledger.tileData(LogTile(kind: .entries, index: 0))) == Array(hashes[0..<256]))
        #expect(try entries(ledger.tileData(LogTile(kind: .entries, index: 2, width: 88))) == Array(hashes[512..<600]))
        #expect(try entries(ledger.tileData(LogTile(kind: .records, index: 0))) == Array(records[0..<256]))
        #expect(try entries(ledger.tileData(LogTile(kind: .records, index: 2, width: 88))) == Array(records[512..<600]))
        // A partial tile of a smaller tree is the full tile's beginning.
        let full = try ledger.tileData(LogTile(kind: .hashes(level: 0), index: 0))
        #expect(try ledger.tileData(LogTile(kind: .hashes(level: 0), index: 0, width: 7)) == Array(full.prefix(224)))
        // Beyond the log: not_found.
        for tile in [
            LogTile(kind: .hashes(level: 0), index: 2), LogTile(kind: .hashes(level: 0), index: 2, width: 89),
            LogTile(kind: .entries, index: 3, width: 1), LogTile(kind: .records, index: 2, width: 89),
            LogTile(kind: .hashes(level: 1), index: 0, width: 3),
            LogTile(kind: .hashes(level: 2), index: 0, width: 1), LogTile(kind: .hashes(level: 63), index: 9),
        ] {
            let error = try #require(throws: LedgerError.self) { try ledger.tileData(tile) }
            #expect(error.code == .notFound, "\(tile.path)")
        }
    }

    // MARK: Exports read back by Go's sumdb/tlog

    @Test func goReadsTheTilesAtEveryTreeSizeAndTheirEntriesAreTheExport() throws {
        let directory = TemporaryDirectory()
        let (ledger, _) = try ledgerWithAnErasure(events: 520, in: directory)
        let tlogcheck = try Tlogcheck()
        let key = try ledger.checkpoint().noteVerifierKey
        let export = try Fixture.export(ledger).split(separator: "\n").map { Array($0.utf8) }
        for size: UInt64 in [0, 1, 2, 3, 150, 151, 255, 256, 257, 511, 512, 513, 520] {
            let target = directory.path + "/tiles-\(size)"
            let summary = try ledger.exportTiles(to: target, treeSize: size)
            #expect(summary.treeSize == size && summary.kept == 0)
            #expect(summary.written == LogTile.count(ofTreeOf: size))
            #expect(summary.rootHash == (try ledger.merkleRoot(size: size)))
            let outcome = try tlogcheck.check(target, key: key)
            #expect(outcome.status == 0, "size \(size): \(outcome.stdout)\(outcome.stderr)")
            #expect(outcome.stdout.hasPrefix("OK consentledger/"), "size \(size): \(outcome.stdout)")
            // The checkpoint is the signed note of that tree; the entries are the event hashes and
            // the records beside them the export's lines.
            let note = try SignedNote(parsing: try text(target + "/checkpoint"))
            #expect(note.text == (try ledger.checkpointNote(treeSize: size)).text)
            #expect(note.isSigned(by: try ledger.checkpoint().origin, publicKey: try ledger.signingPublicKey()))
            let files = try files(under: target)
            #expect(Set(files.keys) == Set(LogTile.tiles(ofTreeOf: size).map(\.path) + ["checkpoint"]))
            let bundled = LogTile.tiles(ofTreeOf: size).filter { $0.kind == .records }.flatMap {
                entries(files[$0.path])
            }
            #expect(bundled == Array(export.prefix(Int(size))), "size \(size)")
            let hashes = LogTile.tiles(ofTreeOf: size).filter { $0.kind == .entries }.flatMap {
                entries(files[$0.path])
            }
            #expect(hashes.map(MerkleTree.leafHash) == (try leafHashes(of: ledger, size: size)), "size \(size)")
        }
    }

    @Test func anErasureChangesNoTileAndTheTilesHoldNoExternalIdOrPlaintext() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        _ = try ledger.append(
            try (0..<300).map {
                try Fixture.grant("p\($0 % 40)@example.no", extra: #","data":{"note":"plain-\#($0)-text"}"#)
            },
            actor: "t"
        )
        for size: UInt64 in [1, 256, 257, 300] {
            try ledger.exportTiles(to: directory.path + "/before-\(size)", treeSize: size)
        }
        _ = try ledger.erase(subject: "p7@example.no", requestId: nil, actor: "t")
        _ = try ledger.append(try (0..<40).map { try Fixture.grant("q\($0)@example.no") }, actor: "t")
        let tlogcheck = try Tlogcheck()
        for size: UInt64 in [1, 256, 257, 300] {
            let after = directory.path + "/after-\(size)"
            try ledger.exportTiles(to: after, treeSize: size)
            let (old, new) = (try files(under: directory.path + "/before-\(size)"), try files(under: after))
            #expect(old.keys.sorted() == new.keys.sorted())
            for (path, bytes) in new where path != "checkpoint" { #expect(old[path] == bytes, "\(size): \(path)") }
            #expect(
                try SignedNote(parsing: text(after + "/checkpoint")).text
                    == SignedNote(parsing: text(directory.path + "/before-\(size)/checkpoint")).text
            )
        }
        let head = directory.path + "/head"
        try ledger.exportTiles(to: head)
        #expect(try tlogcheck.check(head).status == 0)
        for needle in ["p7@example.no", "p8@example.no", "q3@example.no", "plain-7-text", "plain-"] {
            #expect(Fixture.filesContaining(needle, under: head).isEmpty, "\(needle)")
        }
    }

    @Test func anIncrementalExportEqualsAFreshOneAndKeepsEarlierPartialTiles() throws {
        let directory = TemporaryDirectory()
        let (ledger, _) = try ledgerWithAnErasure(events: 700, in: directory)
        let updated = directory.path + "/updated"
        var sizes: [UInt64] = []
        for size: UInt64 in [1, 255, 300, 300, 512, 513, 700] {
            let summary = try ledger.exportTiles(to: updated, treeSize: size)
            sizes.append(size)
            #expect(summary.kept == LogTile.tiles(ofTreeOf: sizes.dropLast().max() ?? 0).filter(\.isFull).count)
            let fresh = directory.path + "/fresh-\(sizes.count)"
            try ledger.exportTiles(to: fresh, treeSize: size)
            let (written, expected) = (try files(under: updated), try files(under: fresh))
            for (path, bytes) in expected where path != "checkpoint" {
                #expect(written[path] == bytes, "\(size): \(path)")
            }
            #expect(
                try SignedNote(parsing: text(updated + "/checkpoint")).text
                    == SignedNote(parsing: text(fresh + "/checkpoint")).text
            )
            // What else is there: the partial tiles of the earlier trees, and nothing more.
            let earlier = Set(sizes.flatMap { LogTile.tiles(ofTreeOf: $0).map(\.path) })
            #expect(Set(written.keys).subtracting(expected.keys) == earlier.subtracting(expected.keys))
            #expect(earlier.subtracting(expected.keys).allSatisfy { $0.contains(".p/") })
        }
        #expect(try Tlogcheck().check(updated).status == 0)
    }

    /// The tree crosses a level-1 tile: 65,537 leaves need the full tile/1/000, a partial level-2
    /// tile and a partial entry bundle of one entry.
    @Test func beyondALevelOneTileFreshAndIncrementalExportsAgreeAndGoReadsThem() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let size: UInt64 = 65_537
        let path = try ImportTests.file(in: directory, count: Int(size))
        _ = try ImportTests.run(ledger, path)
        #expect(try ledger.head().seq == size)
        let updated = directory.path + "/updated"
        try ledger.exportTiles(to: updated, treeSize: 65_000)
        var reported: [Int] = []
        let summary = try ledger.exportTiles(to: updated) { reported.append($0) }
        #expect(summary.kept == 759)  // full entry, record and level-0 tiles: 253 of each
        #expect(reported.last == LogTile.count(ofTreeOf: size) && reported == reported.sorted())
        let fresh = directory.path + "/fresh"
        try ledger.exportTiles(to: fresh)
        let (written, expected) = (try files(under: updated), try files(under: fresh))
        for (path, bytes) in expected where path != "checkpoint" { #expect(written[path] == bytes, "\(path)") }
        for path in ["tile/1/000", "tile/2/000.p/1", "tile/0/256.p/1", "tile/entries/256.p/1", "tile/0/255"] {
            #expect(expected[path] != nil, "\(path)")
        }
        #expect(expected["tile/1/000"]?.count == 8_192)
        let tlogcheck = try Tlogcheck()
        let key = try ledger.checkpoint().noteVerifierKey
        for target in [updated, fresh] {
            let outcome = try tlogcheck.check(target, key: key)
            #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
            #expect(outcome.stdout.contains(" 65537 "), "\(outcome.stdout)")
        }
    }

    // MARK: Altered tiles

    @Test func anAlteredTileByteFailsTheGoCheckAndAnAlteredEntryFailsTheExportCheck() throws {
        let directory = TemporaryDirectory()
        let (ledger, _) = try ledgerWithAnErasure(events: 600, in: directory)
        let original = directory.path + "/tiles"
        try ledger.exportTiles(to: original)
        let tlogcheck = try Tlogcheck()
        #expect(try tlogcheck.check(original).status == 0)
        // One changed bit anywhere in any hash tile: Go refuses the directory.
        let hashTiles = LogTile.tiles(ofTreeOf: 600).filter { $0.kind != .entries && $0.kind != .records }
        #expect(hashTiles.map(\.path) == ["tile/0/000", "tile/0/001", "tile/0/002.p/88", "tile/1/000.p/2"])
        for tile in hashTiles {
            for offset in [0, 31, 32 * (tile.width / 2) + 17, 32 * tile.width - 1] {
                let altered = try copy(original, to: directory.path + "/altered")
                try flip(altered + "/" + tile.path, at: offset)
                let outcome = try tlogcheck.check(altered)
                #expect(outcome.status == 1, "\(tile.path) at \(offset): \(outcome.stdout)")
                #expect(outcome.stdout.hasPrefix("INVALID"), "\(tile.path) at \(offset): \(outcome.stdout)")
            }
        }
        // A missing or cut tile, a checkpoint of another root.
        for change in ["remove tile/0/001", "cut tile/1/000.p/2", "cut tile/entries/001", "root"] {
            let altered = try copy(original, to: directory.path + "/altered")
            switch change {
            case "root":
                let note = try text(altered + "/checkpoint")
                let root = Data(try ledger.merkleRoot(size: 599)).base64EncodedString()
                let lines = note.split(separator: "\n", omittingEmptySubsequences: false)
                try (([lines[0], "600", Substring(root)] + lines.dropFirst(3)).joined(separator: "\n"))
                    .write(toFile: altered + "/checkpoint", atomically: true, encoding: .utf8)
            case let remove where remove.hasPrefix("remove "):
                try FileManager.default.removeItem(atPath: altered + "/" + remove.dropFirst(7))
            default:
                let file = altered + "/" + change.dropFirst(4)
                let bytes = try #require(FileManager.default.contents(atPath: file))
                try bytes.dropLast(5).write(to: URL(fileURLWithPath: file))
            }
            let outcome = try tlogcheck.check(altered)
            #expect(outcome.status == 1 && outcome.stdout.hasPrefix("INVALID"), "\(change): \(outcome.stdout)")
        }
        // An entry changed: its leaf is not the tile's. A record's hash field changed: it is not
        // its entry. Any other byte of a record: the record's hash no longer recomputes (the
        // export check, as `verify --export` does).
        let changedEntry = try copy(original, to: directory.path + "/changed-entry")
        try flip(changedEntry + "/tile/entries/001", at: 2 + 34 * 7 + 5)
        #expect(try tlogcheck.check(changedEntry).status == 1)
        let bundle = try #require(FileManager.default.contents(atPath: original + "/records/001"))
        let hashField = try #require(bundle.range(of: Data(#""hash":""#.utf8)))
        let altered = try copy(original, to: directory.path + "/altered")
        try flip(
            altered + "/records/001",
            at: hashField.upperBound + 3,
            to: UInt8(ascii: "0"),
            or: UInt8(ascii: "1")
        )
        #expect(try tlogcheck.check(altered).status == 1)
        let payload = try #require(bundle.range(of: Data(#""payload":""#.utf8)))
        let edited = try copy(original, to: directory.path + "/edited")
        try flip(edited + "/records/001", at: payload.upperBound + 2, to: UInt8(ascii: "A"), or: UInt8(ascii: "B"))
        let records = try LogTile.tiles(ofTreeOf: 600).filter { $0.kind == .records }.flatMap { tile in
            entries(try #require(FileManager.default.contents(atPath: edited + "/" + tile.path)).map { $0 })
        }
        let ndjson = directory.path + "/entries.ndjson"
        try Data(records.map { $0 + [0x0A] }.joined()).write(to: URL(fileURLWithPath: ndjson))
        let refused = try VerifierTools.run(
            "/usr/bin/env",
            ["python3", VerifierTools.root + "/examples/verify_export.py", ndjson]
        )
        #expect(refused.status == 1 && refused.stdout.contains("FAILED at seq 257"), "\(refused.stdout)")
        try copyEntries(from: original, to: ndjson)
        let accepted = try VerifierTools.run(
            "/usr/bin/env",
            ["python3", VerifierTools.root + "/examples/verify_export.py", ndjson]
        )
        #expect(accepted.status == 0, "\(accepted.stdout)")
    }

    // MARK: Refusals

    @Test func aDirectoryOfAnotherLogALargerTreeOrADifferingTileIsRefusedAndLeftAsItIs() throws {
        let directory = TemporaryDirectory()
        let (ledger, _) = try ledgerWithAnErasure(events: 600, in: directory)
        let other = try Ledger.create(
            at: directory.path + "/other",
            catalogue: nil,
            options: Fixture.options(seed: "other")
        ).ledger
        _ = try other.append(try (0..<300).map { try Fixture.grant("o\($0)@example.no") }, actor: "t")
        let theirs = directory.path + "/theirs"
        try other.exportTiles(to: theirs)

        let ours = directory.path + "/ours"
        try ledger.exportTiles(to: ours, treeSize: 400)
        let differing = try copy(ours, to: directory.path + "/differing")
        try flip(differing + "/tile/0/000", at: 5)
        let cutShort = try copy(ours, to: directory.path + "/cut")
        let full = try #require(FileManager.default.contents(atPath: cutShort + "/tile/entries/000"))
        try full.prefix(100).write(to: URL(fileURLWithPath: cutShort + "/tile/entries/000"))
        let notANote = try copy(ours, to: directory.path + "/not-a-note")
        try "consentledger/x\n400\n".write(toFile: notANote + "/checkpoint", atomically: true, encoding: .utf8)

        let cases: [(String, UInt64?, String)] = [
            (theirs, nil, "another log"), (ours, 399, "already holds the tree of 400"),
            (differing, nil, "differs from this log's tile"), (cutShort, nil, "differs from this log's tile"),
            (notANote, nil, "not a C2SP checkpoint note"),
        ]
        for (target, size, reason) in cases {
            let before = try files(under: target)
            let error = try #require(throws: LedgerError.self) { try ledger.exportTiles(to: target, treeSize: size) }
            #expect(error.code == .invalidField, "\(target)")
            #expect(error.message.contains(reason), "\(error.message)")
            #expect(try files(under: target) == before, "\(target) was changed")
        }
        // A file where the directory should be; a tree beyond the head.
        try Data().write(to: URL(fileURLWithPath: directory.path + "/plain-file"))
        let notADirectory = try #require(throws: LedgerError.self) {
            try ledger.exportTiles(to: directory.path + "/plain-file")
        }
        #expect(notADirectory.code == .invalidField)
        let beyond = try #require(throws: LedgerError.self) {
            try ledger.exportTiles(to: directory.path + "/beyond", treeSize: 601)
        }
        #expect(beyond.code == .invalidField)
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/beyond"))
        // The ledger's own directory; a directory another export is writing.
        for inside in [directory.ledger, directory.ledger + "/tiles", directory.path + "/ledger/../ledger/x"] {
            let error = try #require(throws: LedgerError.self) { try ledger.exportTiles(to: inside) }
            #expect(error.code == .invalidField && error.message.contains("inside the ledger directory"))
        }
        #expect(!FileManager.default.fileExists(atPath: directory.ledger + "/tiles"))
        let busy = open(ours, O_RDONLY | O_DIRECTORY)
        #expect(busy >= 0 && flock(busy, LOCK_EX | LOCK_NB) == 0)
        let locked = try #require(throws: LedgerError.self) { try ledger.exportTiles(to: ours) }
        #expect(locked.code == .ledgerLocked)
        close(busy)
        try ledger.exportTiles(to: ours)
        // Another history of this log: a copy of the ledger that went its own way after 600 events.
        let fork = directory.path + "/fork"
        try ledger.backup(to: fork, includingMasterKey: true)
        let forked = try Ledger(openingAt: fork, options: Fixture.options(seed: "fork"))
        _ = try forked.append(try (0..<10).map { try Fixture.grant("f\($0)@example.no") }, actor: "t")
        _ = try ledger.append(try (0..<10).map { try Fixture.grant("g\($0)@example.no") }, actor: "t")
        let shared = directory.path + "/shared"
        try ledger.exportTiles(to: shared, treeSize: 605)
        let before = try files(under: shared)
        let error = try #require(throws: LedgerError.self) { try forked.exportTiles(to: shared) }
        #expect(error.code == .invalidField && error.message.contains("another history"), "\(error.message)")
        #expect(try files(under: shared) == before)
    }

    /// An export killed before its renames leaves its temporaries (`.<name>.<pid>.partial`) behind.
    /// The next export removes them, in every folder it writes in: it holds the directory's lock,
    /// so no exporter still alive owns one. It leaves other files alone and writes the same tiles
    /// as a fresh export; while another export holds the lock, it is refused and removes nothing.
    @Test func aKilledExportsTemporariesAreRemovedByTheNextExport() throws {
        let directory = TemporaryDirectory()
        let (ledger, _) = try ledgerWithAnErasure(events: 300, in: directory)
        let target = directory.path + "/tiles"
        try ledger.exportTiles(to: target, treeSize: 200)
        let exited = Process()
        exited.executableURL = URL(fileURLWithPath: "/bin/true")
        try exited.run()
        exited.waitUntilExit()
        let dead = exited.processIdentifier
        #expect(kill(dead, 0) == -1 && errno == ESRCH, "the killed exporter's pid is not alive")
        let planted = ["checkpoint", "tile/0/000.p/44", "tile/entries/001.p/44", "records/000.p/200", "tile/1/000.p/1"]
            .map { path -> String in
                let file = target + "/" + path
                let folder = (file as NSString).deletingLastPathComponent
                return folder + "/." + (file as NSString).lastPathComponent + ".\(dead).partial"
            }
        for file in planted {
            try FileManager.default.createDirectory(
                atPath: (file as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            try Data("half a tile".utf8).write(to: URL(fileURLWithPath: file))
        }
        let unrelated = target + "/tile/.notes.partial"
        try Data("mine".utf8).write(to: URL(fileURLWithPath: unrelated))
        let busy = open(target, O_RDONLY | O_DIRECTORY)
        #expect(busy >= 0 && flock(busy, LOCK_EX | LOCK_NB) == 0)
        let locked = try #require(throws: LedgerError.self) { try ledger.exportTiles(to: target) }
        #expect(locked.code == .ledgerLocked)
        #expect(planted.allSatisfy { FileManager.default.fileExists(atPath: $0) }, "removed under another's lock")
        close(busy)

        try ledger.exportTiles(to: target)
        for file in planted { #expect(!FileManager.default.fileExists(atPath: file), "\(file) stayed") }
        #expect(FileManager.default.contents(atPath: unrelated) == Data("mine".utf8))
        let fresh = directory.path + "/fresh"
        try ledger.exportTiles(to: fresh)
        let (written, expected) = (try files(under: target), try files(under: fresh))
        for (path, bytes) in expected where path != "checkpoint" { #expect(written[path] == bytes, "\(path)") }
        #expect(
            try SignedNote(parsing: text(target + "/checkpoint")).text
                == SignedNote(parsing: text(fresh + "/checkpoint")).text
        )
        #expect(written.keys.filter { $0.hasSuffix(".partial") }.sorted() == ["tile/.notes.partial"])
    }

    /// Symbolic links planted in an export directory (by another user who can write it) are never
    /// followed. A link at a folder the export writes in (`tile`, `records`, `tile/0`), to a
    /// directory or to nothing, is refused with `io_error`: nothing is created in the directory it
    /// points to, a dangling link's target is not created, and no checkpoint is written. A link at
    /// a temporary name (`.checkpoint.<pid>.partial`) is removed, the checkpoint written in its
    /// place, and the file it pointed to keeps its bytes and mode.
    @Test func linksPlantedInAnExportDirectoryAreNeverFollowed() throws {
        let directory = TemporaryDirectory()
        let (ledger, _) = try ledgerWithAnErasure(events: 300, in: directory)
        let victim = directory.path + "/victim-folder"
        try FileManager.default.createDirectory(atPath: victim, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: victim + "/keep"))
        let missing = directory.path + "/no-folder"
        for (index, folder) in ["tile", "records", "tile/0"].enumerated() {
            for destination in [victim, missing] {
                let target = directory.path + "/tiles-\(index)-\(destination == victim ? "folder" : "nothing")"
                let link = target + "/" + folder
                try FileManager.default.createDirectory(
                    atPath: (link as NSString).deletingLastPathComponent,
                    withIntermediateDirectories: true
                )
                try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: destination)
                let refused = try #require(throws: LedgerError.self) { try ledger.exportTiles(to: target) }
                #expect(refused.code == .ioError && refused.message.contains("symbolic link"), "\(refused.message)")
                #expect(!FileManager.default.fileExists(atPath: target + "/" + TileDirectory.checkpointName))
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: victim) == ["keep"])
        #expect(FileManager.default.contents(atPath: victim + "/keep") == Data("keep me".utf8))
        #expect(!FileManager.default.fileExists(atPath: missing))

        let targets = try LinkTargets(in: directory.path)
        let target = directory.path + "/tiles"
        let checkpoint = target + "/" + TileDirectory.checkpointName
        for destination in targets.destinations {
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            try targets.plant(at: target + "/.\(TileDirectory.checkpointName).\(getpid()).partial", to: destination)
            try ledger.exportTiles(to: target)
            #expect(!isLink(checkpoint))
            #expect(try SignedNote(parsing: text(checkpoint)).text.contains("\n300\n"))
        }
        #expect(try targets.untouched())
    }

    // MARK: Helpers

    /// A ledger of `events` events, grants over 40 subjects in uneven batches, one subject
    /// erased at seq 151; and the event hashes.
    private func ledgerWithAnErasure(events: Int, in directory: TemporaryDirectory) throws -> (Ledger, [[UInt8]]) {
        let ledger = try Fixture.ledger(in: directory)
        var appended = 0
        var batch = 1
        while appended < events - 1 {
            if appended == 150 {
                _ = try ledger.erase(subject: "p7@example.no", requestId: nil, actor: "t")
                appended += 1
                continue
            }
            let count = min(batch, events - 1 - appended, appended < 150 ? 150 - appended : .max)
            _ = try ledger.append(
                try (appended..<appended + count).map { try Fixture.grant("p\($0 % 40)@example.no") },
                actor: "t"
            )
            appended += count
            batch = batch % 13 + 1
        }
        _ = try ledger.append([try Fixture.grant("last@example.no")], actor: "t")
        var hashes: [[UInt8]] = []
        try ledger.forEachEvent { event in
            hashes.append(event.hash)
            return true
        }
        #expect(hashes.count == events)
        return (ledger, hashes)
    }

    /// `bytes` as 32-byte hashes.
    private func chunks(_ bytes: [UInt8]) -> [[UInt8]] {
        stride(from: 0, to: bytes.count, by: 32).map { Array(bytes[$0..<min($0 + 32, bytes.count)]) }
    }

    /// The entries of a bundle: each a big-endian `uint16` length, then its bytes.
    private func entries(_ bundle: [UInt8]?) -> [[UInt8]] {
        guard var rest = bundle?[...] else { return [] }
        var out: [[UInt8]] = []
        while rest.count >= 2 {
            let length = Int(rest[rest.startIndex]) << 8 | Int(rest[rest.startIndex + 1])
            out.append(Array(rest.dropFirst(2).prefix(length)))
            rest = rest.dropFirst(2 + length)
        }
        return out
    }

    /// Every regular file below `root`, by its path relative to it.
    private func files(under root: String) throws -> [String: [UInt8]] {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [:] }
        var found: [String: [UInt8]] = [:]
        for case let relative as String in walker {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &isDirectory),
                !isDirectory.boolValue
            else { continue }
            found[relative] = Array(try #require(FileManager.default.contents(atPath: root + "/" + relative)))
        }
        return found
    }

    private func text(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    /// A fresh copy of the directory `source` at `target`.
    private func copy(_ source: String, to target: String) throws -> String {
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: source, toPath: target)
        return target
    }

    /// Changes the byte at `offset` of `file`: to `replacement` (or `alternative` when it is
    /// that already), or its lowest bit flipped when none is given.
    private func flip(_ file: String, at offset: Int, to replacement: UInt8? = nil, or alternative: UInt8 = 0) throws {
        var bytes = try #require(FileManager.default.contents(atPath: file))
        let index = bytes.startIndex + offset
        if let replacement {
            bytes[index] = bytes[index] == replacement ? alternative : replacement
        } else {
            bytes[index] ^= 0x01
        }
        try bytes.write(to: URL(fileURLWithPath: file))
    }

    /// The leaf hashes of the first `size` events.
    private func leafHashes(of ledger: Ledger, size: UInt64) throws -> [[UInt8]] {
        var leaves: [[UInt8]] = []
        try ledger.forEachEvent { event in
            guard event.seq <= size else { return false }
            leaves.append(MerkleTree.leafHash(event.hash))
            return true
        }
        return leaves
    }

    /// Writes the records of the directory's record bundles, one per line, to `ndjson`.
    private func copyEntries(from root: String, to ndjson: String) throws {
        let bundles = try files(under: root).filter { $0.key.hasPrefix("records/") }
        let paths = LogTile.tiles(ofTreeOf: 600).filter { $0.kind == .records }.map(\.path)
        let records = paths.flatMap { entries(bundles[$0]) }
        try Data(records.map { $0 + [0x0A] }.joined()).write(to: URL(fileURLWithPath: ndjson))
    }
}

/// `Tests/Verifiers/tlogcheck`, built for one test, run with `-tiles`.
private struct Tlogcheck {
    let scratch = TemporaryDirectory()

    init() throws {
        let built = try VerifierTools.buildTlogcheck(into: scratch.path)
        try #require(built.status == 0, "tlogcheck did not build (scripts/install-test-deps): \(built.stderr)")
    }

    /// `tlogcheck -tiles directory [-note key]`.
    func check(_ directory: String, key: String? = nil) throws -> VerifierTools.Outcome {
        try VerifierTools.run(
            scratch.path + "/tlogcheck",
            ["-tiles", directory] + (key.map { ["-note", $0] } ?? [])
        )
    }
}
