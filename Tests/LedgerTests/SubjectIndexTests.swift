import TestSupport
import Testing

@testable import Ledger

struct SubjectIndexTests {
    @Test func aSubjectsSeqsAreTheSameBeforeAndAfterAMerge() throws {
        let directory = TemporaryDirectory()
        let events = try Fixture.environment(
            in: directory,
            named: "events",
            tables: EventsSchema.tableNames,
            mapSize: 1 << 22
        )
        let subjects: [[UInt8]] = [
            [UInt8](repeating: 0x01, count: 16), [0x01] + [UInt8](repeating: 0x02, count: 15),  // same bucket
            [UInt8](repeating: 0xF0, count: 16),
        ]
        var expected: [[UInt8]: [UInt64]] = [:]
        var sortedCounts: [Int] = []
        for seq in UInt64(1)...40 {
            let subject = subjects[Int(seq * 7 % 3)]
            expected[subject, default: []].append(seq)
            try events.write { txn in
                try SubjectIndex.insert(pseudonym: subject, seq: seq, in: txn, events: events)
                // As every append does: from 20 entries on, one bucket moves per transaction.
                try SubjectIndex.mergeIfFull(in: txn, events: events, threshold: 20)
                let recent = try txn.count(of: events.table(EventsSchema.recentSubjectEvents))
                let sorted = try txn.count(of: events.table(EventsSchema.subjectEvents))
                #expect(recent + sorted == Int(seq))
                sortedCounts.append(sorted)
            }
            for subject in subjects {
                let seqs = try events.read { try SubjectIndex.seqs(of: subject, in: $0, events: events) }
                #expect(seqs == expected[subject] ?? [], "seq \(seq)")
                // Bounded, whether the entries are sorted, recent or both: all of them up to the
                // limit, none above it.
                let count = seqs.count
                let atCount = try events.read {
                    try SubjectIndex.seqs(of: subject, in: $0, events: events, atMost: count)
                }
                #expect(atCount == seqs, "seq \(seq): at most \(count)")
                if count > 0 {
                    let below = try events.read {
                        try SubjectIndex.seqs(of: subject, in: $0, events: events, atMost: count - 1)
                    }
                    #expect(below == nil, "seq \(seq): at most \(count - 1)")
                }
            }
        }
        // Nothing moves below the threshold; at 20 the bucket with the oldest entry (seq 1, bucket
        // 0x01 — the first two subjects) moves alone, and bucket 0xF0 stays recent until later.
        #expect(sortedCounts[0..<19].allSatisfy { $0 == 0 })
        let firstMerge = sortedCounts[19]
        #expect(firstMerge == (1...20).filter { subjects[Int($0 * 7 % 3)][0] != 0xF0 }.count)
        #expect(sortedCounts.last ?? 0 > firstMerge)
        for subject in subjects {
            let seqs = try events.read { try SubjectIndex.seqs(of: subject, in: $0, events: events) }
            #expect(seqs == expected[subject])
        }
        #expect(
            try events.read { try SubjectIndex.seqs(of: [UInt8](repeating: 0x03, count: 16), in: $0, events: events) }
                == []
        )
    }

    @Test func aLargeTransactionMergesBucketsUntilTheRecentLevelIsBelowTheThreshold() throws {
        let directory = TemporaryDirectory()
        let events = try Fixture.environment(
            in: directory,
            named: "events",
            tables: EventsSchema.tableNames,
            mapSize: 1 << 22
        )
        // 640 entries over 64 buckets in one transaction, like a batch of thousands of events.
        let subjects = (0..<64).map { [UInt8(truncatingIfNeeded: $0 << 2)] + [UInt8](repeating: 0x5A, count: 15) }
        try events.write { txn in
            for seq in UInt64(1)...640 {
                try SubjectIndex.insert(pseudonym: subjects[Int(seq % 64)], seq: seq, in: txn, events: events)
            }
            try SubjectIndex.mergeIfFull(in: txn, events: events, threshold: 100)
        }
        let (recent, sorted) = try events.read { txn in
            (
                try txn.count(of: events.table(EventsSchema.recentSubjectEvents)),
                try txn.count(of: events.table(EventsSchema.subjectEvents))
            )
        }
        #expect(recent < 100)
        #expect(recent + sorted == 640)
        // Only whole buckets moved (10 entries each), and no more than needed.
        #expect(sorted % 10 == 0 && recent >= 90)
        for (index, subject) in subjects.enumerated() {
            let seqs = try events.read { try SubjectIndex.seqs(of: subject, in: $0, events: events) }
            #expect(seqs == (UInt64(1)...640).filter { Int($0 % 64) == index })
        }
    }

    /// The threshold the model runs merge at: an eighth of the real one, so three levels' worth
    /// of merges take fifty thousand entries; batches of up to 10,000 stay below it, as an
    /// import's chunks stay below the real one.
    private static let modelThreshold = SubjectIndex.mergeThreshold / 8

    /// Commits `batchSizes` rounds as appends do (insert, then merge at ``modelThreshold``), each
    /// event going to the subject `subjectOf` picks, and checks after every commit that each
    /// subject's seqs read back equal the model's.
    private func runModel(
        batchSizes: [Int],
        subjects: [[UInt8]],
        subjectOf: (UInt64) -> Int
    ) throws {
        let threshold = Self.modelThreshold
        let directory = TemporaryDirectory()
        let events = try Fixture.environment(
            in: directory,
            named: "events",
            tables: EventsSchema.tableNames,
            mapSize: 1 << 28
        )
        var model: [[UInt64]] = Array(repeating: [], count: subjects.count)
        var seq: UInt64 = 0
        for (round, size) in batchSizes.enumerated() {
            var touched: Set<Int> = []
            try events.write { txn in
                for _ in 0..<size {
                    seq += 1
                    let subject = subjectOf(seq)
                    try SubjectIndex.insert(pseudonym: subjects[subject], seq: seq, in: txn, events: events)
                    model[subject].append(seq)
                    touched.insert(subject)
                }
                try SubjectIndex.mergeIfFull(in: txn, events: events, threshold: threshold)
            }
            let recent = try events.read { try $0.count(of: events.table(EventsSchema.recentSubjectEvents)) }
            #expect(recent < threshold, "round \(round)")
            for subject in touched.sorted() {
                let seqs = try events.read { try SubjectIndex.seqs(of: subjects[subject], in: $0, events: events) }
                #expect(seqs == model[subject], "round \(round), subject \(subject), head \(seq)")
            }
        }
        #expect(seq > 3 * UInt64(threshold))
        for (index, subject) in subjects.enumerated() {
            let seqs = try events.read { try SubjectIndex.seqs(of: subject, in: $0, events: events) }
            #expect(seqs == model[index])
        }
    }

    /// Seeded batch sizes from 1 to 10,000 that add up to past 3 × the model's threshold (49,152).
    private func seededBatchSizes(seed: UInt64) -> [Int] {
        var random = SplitMix64(seed: seed)
        var sizes: [Int] = []
        var total = 0
        while total < 3 * Self.modelThreshold + 5_000 {
            let size: Int
            switch random.below(4) {
            case 0: size = 1
            case 1: size = 1 + random.below(100)
            case 2: size = 1 + random.below(3_000)
            default: size = 10_000
            }
            sizes.append(size)
            total += size
        }
        return sizes
    }

    /// One busy subject: every entry of the recent level is in its bucket, so a merge empties the
    /// level (this failed with EINVAL from mdb_cursor_get at every multiple of the threshold).
    @Test func oneHotSubjectsSeqsMatchTheModelAcrossEveryMerge() throws {
        let hot = [UInt8](repeating: 0x42, count: 16)
        // Single events around each boundary as well as large batches.
        var sizes = seededBatchSizes(seed: 7)
        sizes.insert(contentsOf: [Self.modelThreshold - 8, 1, 1, 1, 1, 1, 1, 1, 1, 1], at: 0)
        try runModel(batchSizes: sizes, subjects: [hot]) { _ in 0 }
    }

    /// A hot subject among many: its bucket empties when it moves, the level does not.
    @Test func manySubjectsSeqsMatchTheModelAcrossEveryMerge() throws {
        // The hot subject (0) sits in the last bucket, so moving it deletes the level's last entries.
        let subjects = (0..<200).map { n -> [UInt8] in
            [n == 0 ? 0xFF : UInt8(truncatingIfNeeded: n &* 37)]
                + [UInt8](repeating: UInt8(truncatingIfNeeded: n), count: 15)
        }
        var picks = SplitMix64(seed: 11)
        try runModel(batchSizes: seededBatchSizes(seed: 13), subjects: subjects) { _ in
            picks.chance(50) ? 0 : picks.below(subjects.count)
        }
    }
    /// A ledger of format 3 filed recent entries under 64 buckets (a pseudonym's first six bits).
    /// Its first open by this build moves the whole recent level into the sorted one and records
    /// format 4: every subject's events read back complete, `rebuild` finds the indexes equal to
    /// the log, and the next appends file their entries under the new buckets.
    @Test func aFormat3LedgerMergesItsRecentLevelAtItsFirstOpen() throws {
        let directory = TemporaryDirectory()
        var options = Fixture.options()
        // Some entries merged already, so the sorted level holds both kinds.
        options.subjectIndexMergeThreshold = 100
        var ledger: Ledger? = try Fixture.ledger(in: directory, options: options)
        var expected: [String: [UInt64]] = [:]
        for round in 0..<6 {
            let batch = try (0..<50).map { try Fixture.grant("m-\(($0 * 7 + round) % 40)@example.no") }
            for result in try #require(ledger).append(batch, actor: "t") {
                expected[result.subject, default: []].append(result.seq)
            }
        }
        let events = try #require(ledger).events
        let recent = events.table(EventsSchema.recentSubjectEvents)
        let meta = events.table(EventsSchema.meta)
        // Written back as format 3 wrote them.
        try events.write { txn in
            var entries: [([UInt8], [UInt8])] = []
            try txn.forEach(in: recent) { key, value in
                entries.append((Array(key), Array(value)))
                return true
            }
            #expect(entries.count > 20)
            try txn.removeAll(in: recent)
            for (key, pseudonym) in entries {
                try txn.put(pseudonym, forKey: [pseudonym[0] >> 2] + key.dropFirst(), in: recent)
            }
            try txn.put(EventsSchema.seqKey(3), forKey: EventsSchema.MetaKey.format, in: meta)
        }
        ledger = nil
        let reopened = try Ledger(openingAt: directory.ledger, options: Fixture.options())
        let (format, recentCount) = try reopened.events.read { txn in
            (try txn.get(EventsSchema.MetaKey.format, in: meta), try txn.count(of: recent))
        }
        #expect(format == EventsSchema.seqKey(4))
        #expect(recentCount == 0)
        for (subject, seqs) in expected {
            #expect(try reopened.subjectEvents(pseudonym: subject).map(\.seq) == seqs, "\(subject)")
        }
        #expect(try reopened.rebuildProjections().matches)
        let next = try reopened.append([try Fixture.grant("m-3@example.no")], actor: "t")
        let pseudonym = try #require(Hex.decode(next[0].subject))
        let key = [pseudonym[0]] + EventsSchema.seqKey(next[0].seq)
        let filed = try reopened.events.read { try $0.get(key, in: recent) }
        #expect(filed == pseudonym)
        let history = try reopened.subjectEvents(pseudonym: next[0].subject).map(\.seq)
        #expect(history == (expected[next[0].subject] ?? []) + [next[0].seq])
    }
    /// A format-3 ledger whose recent level holds an entry with a malformed key cannot be moved
    /// whole: the open is refused (`ledger_corrupt`), and nothing of the move is committed.
    @Test func aFormat3LedgerWithAMalformedRecentEntryIsRefusedUnmoved() throws {
        let directory = TemporaryDirectory()
        var ledger: Ledger? = try Fixture.ledger(in: directory)
        _ = try #require(ledger).append(try (0..<20).map { try Fixture.grant("x-\($0)@example.no") }, actor: "t")
        let events = try #require(ledger).events
        let recent = events.table(EventsSchema.recentSubjectEvents)
        let meta = events.table(EventsSchema.meta)
        try events.write { txn in
            try txn.put([UInt8](repeating: 1, count: 16), forKey: [0, 1, 2], in: recent)
            try txn.put(EventsSchema.seqKey(3), forKey: EventsSchema.MetaKey.format, in: meta)
        }
        let before = try events.read { try $0.count(of: recent) }
        ledger = nil
        #expect(errorCode { _ = try Ledger(openingAt: directory.ledger, options: Fixture.options()) } == .ledgerCorrupt)
        let environment = try Fixture.environment(
            in: directory,
            named: "ledger/events",
            tables: EventsSchema.tableNames,
            mapSize: 1 << 26
        )
        let (format, after) = try environment.read { txn in
            (try txn.get(EventsSchema.MetaKey.format, in: meta), try txn.count(of: recent))
        }
        #expect(format == EventsSchema.seqKey(3))
        #expect(after == before)
    }
}
