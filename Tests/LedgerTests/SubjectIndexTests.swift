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
            [UInt8](repeating: 0x01, count: 16), [UInt8](repeating: 0x02, count: 16),  // same bucket
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
            }
        }
        // Nothing moves below the threshold; at 20 the bucket with the oldest entry (seq 1, bucket
        // 0 — subjects 0x01 and 0x02) moves alone, and bucket 60 (0xF0) stays recent until later.
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
}
