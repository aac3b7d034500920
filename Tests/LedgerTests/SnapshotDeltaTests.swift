import Foundation
import Projections
import TestSupport
import Testing

@testable import Ledger
@testable import Projections

/// Snapshots stored as deltas of an earlier one stored whole (``SnapshotDelta``): the pieces
/// compose, the stored form makes exactly the snapshot, hostile stored bytes are refused without
/// trapping, and the writers store deltas while they stay small and whole snapshots otherwise.
@Suite struct SnapshotDeltaTests {
    /// Bytes made of runs of `earlier` and new bytes, with the pieces that describe them.
    static func continuation(
        of earlier: [UInt8],
        _ random: inout SplitMix64
    ) -> (bytes: [UInt8], pieces: [SnapshotDelta.Piece]) {
        var bytes: [UInt8] = []
        var pieces: [SnapshotDelta.Piece] = []
        var position = 0
        while position < earlier.count || random.chance(10) {
            if random.chance(40) || position >= earlier.count {
                let count = random.below(12)
                bytes += (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                pieces.append(.own(count: count))
            } else {
                // Ascending, non-overlapping ranges, some skipped: what the splicer copies.
                position += random.below(6)
                let count = min(random.below(40), max(0, earlier.count - position))
                bytes += earlier[min(position, earlier.count)..<min(position + count, earlier.count)]
                pieces.append(.earlier(offset: min(position, earlier.count), count: count))
                position += count
            }
        }
        return (bytes, pieces)
    }

    @Test(arguments: 0..<40)
    func chainedContinuationsAreMadeExactlyFromTheBase(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let base = (0..<random.below(2_000)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        var delta = SnapshotDelta.whole(at: 7, length: base.count)
        var current = base
        for step in 0..<6 {
            let next = Self.continuation(of: current, &random)
            guard let continued = delta.continued(by: next.pieces) else {
                Issue.record("seed \(seed), step \(step): the pieces compose")
                return
            }
            #expect(continued.baseSeq == 7)
            #expect(continued.length == next.bytes.count)
            let payload = continued.payload(of: next.bytes)
            #expect(
                SnapshotDelta.assemble(payload: payload, base: base, length: next.bytes.count) == next.bytes,
                "seed \(seed), step \(step): the delta makes the snapshot from the base"
            )
            // A writer that reads the stored delta continues from the same form.
            #expect(
                SnapshotDelta(payload: payload, baseSeq: 7, length: next.bytes.count, baseLength: base.count)
                    == continued,
                "seed \(seed), step \(step): the stored payload gives the delta back"
            )
            delta = continued
            current = next.bytes
        }
    }

    @Test func piecesReachingPastTheSnapshotDoNotCompose() {
        let delta = SnapshotDelta.whole(at: 1, length: 10)
        #expect(delta.continued(by: [.earlier(offset: 5, count: 6)]) == nil)
        #expect(delta.continued(by: [.earlier(offset: -1, count: 2)]) == nil)
        #expect(delta.continued(by: [.earlier(offset: 4, count: 6), .own(count: 3)])?.length == 9)
    }

    /// Every truncation and every single-byte change of a stored delta is refused or makes other
    /// bytes (which the manifest's digest then refuses); none traps.
    @Test func damagedPayloadsAreRefusedWithoutTrapping() {
        var random = SplitMix64(seed: 99)
        let base = (0..<300).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let next = Self.continuation(of: base, &random)
        guard let delta = SnapshotDelta.whole(at: 1, length: base.count).continued(by: next.pieces) else {
            Issue.record("the pieces compose")
            return
        }
        let payload = delta.payload(of: next.bytes)
        for cut in 0..<payload.count {
            #expect(
                SnapshotDelta.assemble(payload: Array(payload.prefix(cut)), base: base, length: next.bytes.count) == nil
            )
        }
        for index in payload.indices {
            for flip: UInt8 in [0x01, 0x80, 0xFF] {
                var damaged = payload
                damaged[index] ^= flip
                let made = SnapshotDelta.assemble(payload: damaged, base: base, length: next.bytes.count)
                #expect(made == nil || made != next.bytes || damaged == payload)
            }
        }
        // Counts near the top of the integers, an unknown tag, a length the pieces do not make.
        var writer = ByteWriter()
        writer.write(SnapshotDelta.magic)
        writer.write(u32: 1)
        writer.write(u8: 0)
        writer.write(u64: UInt64.max - 3)
        writer.write(u64: 10)
        #expect(SnapshotDelta.assemble(payload: writer.bytes, base: base, length: 10) == nil)
        var own = ByteWriter()
        own.write(SnapshotDelta.magic)
        own.write(u32: 1)
        own.write(u8: 1)
        own.write(u64: UInt64(Int.max))
        #expect(SnapshotDelta.assemble(payload: own.bytes, base: base, length: 10) == nil)
        var tag = ByteWriter()
        tag.write(SnapshotDelta.magic)
        tag.write(u32: 1)
        tag.write(u8: 2)
        tag.write(u64: 0)
        #expect(SnapshotDelta.assemble(payload: tag.bytes, base: base, length: 0) == nil)
        #expect(SnapshotDelta.assemble(payload: payload, base: base, length: next.bytes.count + 1) == nil)
        // Ranges of the base out of order or overlapping (no writer makes them) are refused.
        for ranges in [[(10, 5), (0, 5)], [(0, 10), (5, 10)]] {
            var writer = ByteWriter()
            writer.write(SnapshotDelta.magic)
            writer.write(u32: UInt32(ranges.count))
            for (offset, count) in ranges {
                writer.write(u8: 0)
                writer.write(u64: UInt64(offset))
                writer.write(u64: UInt64(count))
            }
            let made = ranges.reduce(0) { $0 + $1.1 }
            #expect(SnapshotDelta.assemble(payload: writer.bytes, base: base, length: made) == nil, "\(ranges)")
        }
        // A base read in parts of any size makes the same snapshot.
        for size in [1, 7, 64, base.count] {
            let made = base.withUnsafeBytes { raw in
                SnapshotDelta.assemble(payload: payload, length: next.bytes.count, baseLength: base.count) { part in
                    var start = 0
                    while start < raw.count {
                        guard part(UnsafeRawBufferPointer(rebasing: raw[start..<min(start + size, raw.count)])) else {
                            return
                        }
                        start += size
                    }
                }
            }
            #expect(made == next.bytes, "parts of \(size) bytes")
        }
        #expect(SnapshotDelta.assemble(payload: payload, base: base, length: Int.max) == nil)
    }

    /// The store: a delta reads back as the whole snapshot; a delta whose base is missing, is
    /// itself a delta, or whose payload or manifest is damaged is `ledger_corrupt`.
    @Test func theStoreReadsDeltasAndRefusesBrokenOnes() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        var random = SplitMix64(seed: 5)
        let base = (0..<(SnapshotStore.chunkSize + 5_000)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        #expect(try ledger.storeSnapshot(base, at: 10))
        var next = base
        next.replaceSubrange(100..<200, with: [UInt8](repeating: 7, count: 150))
        let pieces: [SnapshotDelta.Piece] = [
            .earlier(offset: 0, count: 100), .own(count: 150), .earlier(offset: 200, count: base.count - 200),
        ]
        let delta = try #require(SnapshotDelta.whole(at: 10, length: base.count).continued(by: pieces))
        #expect(try ledger.storeSnapshot(next, at: 20, delta: delta))
        #expect(try ledger.snapshotIsDelta(at: 20) == true)
        #expect(try ledger.snapshotIsDelta(at: 10) == false)
        #expect(try ledger.storedSnapshot(at: 20) == next)
        #expect(try ledger.snapshot(atOrBefore: 25)?.bytes == next)
        let table = ledger.events.table(EventsSchema.snapshots)
        let stored = try #require(try ledger.events.read { try $0.get(SnapshotStore.key(20, 1), in: table) })
        #expect(stored.count < 1_000, "the delta stores its own bytes and the ranges, not the snapshot")

        // A delta of a delta (a base is always stored whole): the store keeps it whole instead,
        // and one written as such all the same is refused when read.
        let chained = try #require(
            SnapshotDelta.whole(at: 20, length: next.count).continued(by: [
                .earlier(offset: 0, count: next.count)
            ])
        )
        #expect(try ledger.storeSnapshot(next, at: 30, delta: chained))
        #expect(try ledger.snapshotIsDelta(at: 30) == false)
        #expect(try ledger.storedSnapshot(at: 30) == next)
        try ledger.events.write { txn in
            _ = try SnapshotStore.put(next, at: 30, delta: chained, in: txn, events: ledger.events)
        }
        #expect(try ledger.snapshotIsDelta(at: 30) == true)
        #expect(errorCode { _ = try ledger.storedSnapshot(at: 30) } == .ledgerCorrupt)
        // A damaged payload, a damaged base byte it copies, a missing base, a damaged manifest.
        try ledger.events.write { txn in
            var damaged = stored
            damaged[damaged.count - 1] ^= 1
            try txn.put(damaged, forKey: SnapshotStore.key(20, 1), in: table)
        }
        #expect(errorCode { _ = try ledger.storedSnapshot(at: 20) } == .ledgerCorrupt)
        try ledger.events.write { txn in try txn.put(stored, forKey: SnapshotStore.key(20, 1), in: table) }
        #expect(try ledger.storedSnapshot(at: 20) == next)
        let baseChunk = try #require(try ledger.events.read { try $0.get(SnapshotStore.key(10, 1), in: table) })
        try ledger.events.write { txn in
            var damaged = baseChunk
            damaged[0] ^= 1
            try txn.put(damaged, forKey: SnapshotStore.key(10, 1), in: table)
        }
        #expect(errorCode { _ = try ledger.storedSnapshot(at: 20) } == .ledgerCorrupt)
        try ledger.events.write { txn in try txn.put(baseChunk, forKey: SnapshotStore.key(10, 1), in: table) }
        #expect(try ledger.storedSnapshot(at: 20) == next)
        try ledger.events.write { txn in try txn.delete(SnapshotStore.key(10, 2), in: table) }
        #expect(errorCode { _ = try ledger.storedSnapshot(at: 20) } == .ledgerCorrupt, "a base chunk missing")
        try ledger.events.write { txn in try SnapshotStore.remove(10, in: txn, events: ledger.events) }
        #expect(errorCode { _ = try ledger.storedSnapshot(at: 20) } == .ledgerCorrupt)
        // A whole snapshot's manifest whose length says 64 GiB: refused, nothing of that size
        // reserved.
        #expect(try ledger.storeSnapshot(base, at: 40))
        let wholeManifest = try #require(try ledger.snapshotManifest(at: 40))
        var huge = wholeManifest
        huge.replaceSubrange(4..<12, with: withUnsafeBytes(of: (UInt64(1) << 36).bigEndian) { Array($0) })
        try ledger.events.write { txn in try txn.put(huge, forKey: SnapshotStore.key(40, 0), in: table) }
        #expect(errorCode { _ = try ledger.storedSnapshot(at: 40) } == .ledgerCorrupt)
        // A delta that does not describe its bytes is refused before anything is stored.
        #expect(errorCode { try ledger.storeSnapshot(next + [1], at: 50, delta: delta) } == .internal)
        #expect(try ledger.snapshotManifest(at: 50) == nil)
        let manifest = try #require(try ledger.snapshotManifest(at: 20))
        try ledger.events.write { txn in
            try txn.put(manifest + [0], forKey: SnapshotStore.key(20, 0), in: table)
        }
        #expect(errorCode { _ = try ledger.storedSnapshot(at: 20) } == .ledgerCorrupt)
    }

    /// A ledger's stored snapshots, each checked against a fold of the log from seq 1, and how
    /// many of them are deltas.
    static func checkSnapshots(_ ledger: Ledger) throws -> (whole: Int, deltas: Int) {
        let rules = try ledger.projectionRules()
        var projection = LedgerProjection()
        var counts = (whole: 0, deltas: 0)
        let seqs = try ledger.snapshotSeqs()
        var pending = seqs[...]
        try ledger.forEachSummary { event in
            projection.apply(event, rules: rules)
            guard pending.first == event.seq else { return }
            pending.removeFirst()
            #expect(try ledger.storedSnapshot(at: event.seq) == projection.snapshot, "the snapshot at \(event.seq)")
            if try ledger.snapshotIsDelta(at: event.seq) == true { counts.deltas += 1 } else { counts.whole += 1 }
        }
        #expect(pending.isEmpty)
        return counts
    }

    /// An import over few subjects of a ledger of many stores deltas after its first snapshot; a
    /// stretch of new subjects, whose records would make a delta large, brings a whole snapshot
    /// back; every snapshot is the fold of the log, and `rebuild` finds them equal.
    @Test func importsStoreDeltasWhileTheyStaySmall() throws {
        let directory = TemporaryDirectory()
        var options = Fixture.options()
        options.observers = [SnapshotObserver()]
        let ledger = try Ledger.create(at: directory.ledger, catalogue: nil, snapshotInterval: 200, options: options)
            .ledger
        for batch in 0..<2 {
            _ = try ledger.append(
                try (0..<1_000).map { try Fixture.grant("many-\(batch)-\($0)@example.no") },
                actor: "t"
            )
        }
        let lines = (0..<1_000).map { n in
            n % 3 == 0
                ? #"{"type":"consent.withdrawn","subject":"few-\#(n % 20)@example.no","purpose":"newsletter"}"#
                : #"{"type":"consent.granted","subject":"few-\#(n % 20)@example.no","purpose":"newsletter","notice":"policy-v1"}"#
        }
        let file = directory.path + "/few.ndjson"
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        _ = try ledger.importNDJSON(from: try LineReader(path: file), actor: "t", catalogue: try ledger.catalogue())
        let afterFew = try Self.checkSnapshots(ledger)
        #expect(afterFew.deltas >= 4, "the boundaries the import crossed after its first are deltas")

        _ = try ledger.append(try (0..<1_000).map { try Fixture.grant("new-\($0)@example.no") }, actor: "t")
        let afterNew = try Self.checkSnapshots(ledger)
        #expect(afterNew.whole > afterFew.whole, "a delta past a quarter of the snapshot is stored whole instead")
        let report = try ledger.rebuildProjections()
        #expect(report.matches, "\(report.difference ?? "")")
        #expect(report.snapshotsCompared == afterNew.whole + afterNew.deltas)
    }

    /// The server's background writer keeps its fold between runs and stores deltas; a run with
    /// nothing kept (a restarted server, each `import`) or a kept fold that is not the latest
    /// snapshot's reads the latest with the form it is stored in and stores a delta of the same
    /// base (before, its first snapshot was stored whole, and at a million subjects every import
    /// wrote one); a repair writes every snapshot again, from the same log the same bytes, and a
    /// delta follows it.
    @Test func theBackgroundWriterContinuesFromWhatItKept() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory, snapshotInterval: 100)
        let continuation = SnapshotContinuation()
        _ = try ledger.append(try (0..<800).map { try Fixture.grant("s-\($0)@example.no") }, actor: "t")
        #expect(try SnapshotCatchUp.run(ledger, continuation: continuation) == 8)
        for round in 0..<3 {
            let purpose = round % 2 == 0 ? "surveys" : "newsletter"
            _ = try ledger.append(
                try (0..<50).map { try Fixture.grant("s-\($0 % 10)@example.no", purpose) },
                actor: "t"
            )
            // A run with nothing due (the server makes one after an erasure, or for a round that
            // came during a run) keeps what was kept.
            #expect(try SnapshotCatchUp.run(ledger, continuation: continuation) == 0)
            _ = try ledger.append(
                try (50..<100).map { try Fixture.grant("s-\($0 % 10)@example.no", purpose) },
                actor: "t"
            )
            #expect(try SnapshotCatchUp.run(ledger, continuation: continuation) == 1)
            #expect(try ledger.snapshotIsDelta(at: UInt64(900 + 100 * round)) == true, "round \(round)")
        }
        _ = try ledger.append(try (0..<100).map { try Fixture.grant("s-\($0 % 10)@example.no", "surveys") }, actor: "t")
        func base(of seq: UInt64) throws -> UInt64? {
            let stored = try #require(try ledger.snapshotManifest(at: seq))
            return try #require(SnapshotStore.Manifest(stored: stored)).baseSeq
        }
        let firstBase = try #require(try base(of: 1_100), "1,100 is a delta")
        #expect(try SnapshotCatchUp.run(ledger) == 1, "a writer that kept nothing")
        #expect(try base(of: 1_200) == firstBase, "read with its form, the latest continues as a delta")
        _ = try ledger.append(try (0..<100).map { try Fixture.grant("s-\($0 % 10)@example.no") }, actor: "t")
        #expect(try SnapshotCatchUp.run(ledger, continuation: continuation) == 1)
        #expect(try base(of: 1_300) == firstBase, "the kept fold is not that of the latest snapshot, which is read")

        _ = try ledger.repairProjections()
        _ = try ledger.append(try (0..<100).map { try Fixture.grant("s-\($0 % 10)@example.no", "surveys") }, actor: "t")
        #expect(try SnapshotCatchUp.run(ledger, continuation: continuation) == 1)
        #expect(try base(of: 1_400) != nil, "a delta after the repair too")
        let counts = try Self.checkSnapshots(ledger)
        #expect(counts.whole + counts.deltas == 14)
        #expect(try ledger.rebuildProjections().matches)
    }

    /// Two catch-ups in two processes may store the same seq at once, each removing what it finds
    /// before writing its chunks: the transaction that writes a manifest first makes the chunks
    /// exactly its writer's — a missing one put back, one of the other writer's form replaced,
    /// one past the last deleted — so the snapshot reads back. Before, a manifest could name a
    /// chunk the other writer had removed (`ChaosTests`, seed 2: "missing a chunk").
    @Test func theManifestsTransactionSettlesChunksAnotherWriterChanged() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        var random = SplitMix64(seed: 11)
        let bytes = (0..<(SnapshotStore.chunkSize * 2 + 100)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let stored = try SnapshotStore.storedForm(of: bytes, delta: nil)
        #expect(stored.chunks.count == 3)
        let table = ledger.events.table(EventsSchema.snapshots)
        try ledger.events.write { txn in
            // This writer's first chunk removed, its second replaced, a fourth of another form left.
            try txn.put(Array(repeating: 9, count: 10), forKey: SnapshotStore.key(40, 2), in: table)
            try txn.put(Array(stored.chunks[2]), forKey: SnapshotStore.key(40, 3), in: table)
            try txn.put(Array(repeating: 7, count: 10), forKey: SnapshotStore.key(40, 4), in: table)
            try txn.put(Array(repeating: 5, count: 10), forKey: SnapshotStore.key(41, 1), in: table)
            try SnapshotStore.settle(stored.chunks, at: 40, in: txn, events: ledger.events)
            try txn.put(stored.manifest, forKey: SnapshotStore.key(40, 0), in: table)
        }
        #expect(try ledger.storedSnapshot(at: 40) == bytes)
        let keys = try ledger.events.read { txn in
            var found: [[UInt8]] = []
            try txn.forEach(in: table) { key, _ in
                found.append(Array(key))
                return true
            }
            return found
        }
        #expect(keys == [0, 1, 2, 3].map { SnapshotStore.key(40, UInt32($0)) } + [SnapshotStore.key(41, 1)])
    }

    /// A delta whose base was removed (or stored again as a delta) after the writer read it, as a
    /// `rebuild --repair` beside an import's background writer can do, is stored whole instead
    /// and reads back as it was made; before, it was stored as a delta of nothing, and every read
    /// of it failed `ledger_corrupt`.
    @Test func aDeltaWhoseBaseIsGoneIsStoredWhole() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory, snapshotInterval: 100)
        _ = try ledger.append(try (0..<100).map { try Fixture.grant("s-\($0)@example.no") }, actor: "t")
        _ = try ledger.append(
            try (0..<200).map { try Fixture.grant("s-\($0 % 10)@example.no", "surveys") },
            actor: "t"
        )
        #expect(try SnapshotCatchUp.run(ledger) == 3)
        let latest = try #require(try ledger.storedSnapshotWithForm(at: 300))
        let form = try #require(latest.form)
        #expect(form.baseSeq < 300, "stored as a delta")
        try ledger.events.write { txn in
            try SnapshotStore.remove(300, in: txn, events: ledger.events)
            try SnapshotStore.remove(form.baseSeq, in: txn, events: ledger.events)
        }
        #expect(try ledger.storeSnapshotTelling(latest.bytes, at: 300, delta: form) == .whole)
        #expect(try ledger.snapshotIsDelta(at: 300) == false)
        #expect(try ledger.storedSnapshot(at: 300) == latest.bytes)
    }

    /// A ledger of format 2 (every snapshot whole) opens as the current format, its snapshots read
    /// as they stand; a format this build does not know is refused.
    @Test func aFormat2LedgerMovesToTheCurrentFormatAndAnUnknownFormatIsRefused() throws {
        let directory = TemporaryDirectory()
        var options = Fixture.options()
        options.observers = [SnapshotObserver()]
        var ledger: Ledger? = try Ledger.create(
            at: directory.ledger,
            catalogue: nil,
            snapshotInterval: 10,
            options: options
        ).ledger
        _ = try ledger?.append(try (0..<25).map { try Fixture.grant("f-\($0)@example.no") }, actor: "t")
        func setFormat(_ version: UInt64) throws {
            let open = try #require(ledger)
            try open.events.write { txn in
                try txn.put(
                    EventsSchema.seqKey(version),
                    forKey: EventsSchema.MetaKey.format,
                    in: open.events.table(EventsSchema.meta)
                )
            }
        }
        func format() throws -> [UInt8]? {
            let open = try #require(ledger)
            return try open.events.read {
                try $0.get(EventsSchema.MetaKey.format, in: open.events.table(EventsSchema.meta))
            }
        }
        try setFormat(2)
        ledger = nil
        ledger = try Ledger(openingAt: directory.ledger, options: options)
        #expect(try format() == EventsSchema.seqKey(EventsSchema.formatVersion))
        let counts = try Self.checkSnapshots(try #require(ledger))
        #expect(counts.whole + counts.deltas == 2)
        try setFormat(EventsSchema.formatVersion + 1)
        ledger = nil
        #expect(errorCode { _ = try Ledger(openingAt: directory.ledger, options: options) } == .ledgerCorrupt)
    }
}
