import Testing

@testable import Ledger

struct SubjectIndexTests {
    @Test func aSubjectsSeqsAreTheSameBeforeAndAfterAMerge() throws {
        let directory = TemporaryDirectory()
        let events = try Environment(
            path: directory.path + "/events", tables: EventsSchema.tableNames,
            configuration: .init(initialMapSize: 1 << 22, mapCeiling: 1 << 22))
        let subjects: [[UInt8]] = [
            [UInt8](repeating: 0x01, count: 16), [UInt8](repeating: 0x02, count: 16),  // same bucket
            [UInt8](repeating: 0xF0, count: 16),
        ]
        var expected: [[UInt8]: [UInt64]] = [:]
        for seq in UInt64(1)...40 {
            let subject = subjects[Int(seq * 7 % 3)]
            expected[subject, default: []].append(seq)
            try events.write { txn in
                try SubjectIndex.insert(pseudonym: subject, seq: seq, in: txn, events: events)
                if seq == 25 {
                    try SubjectIndex.mergeIfFull(in: txn, events: events, threshold: 20)
                    #expect(try txn.count(of: events.table(EventsSchema.recentSubjectEvents)) == 0)
                    #expect(try txn.count(of: events.table(EventsSchema.subjectEvents)) == 25)
                }
            }
        }
        for subject in subjects {
            let seqs = try events.read { try SubjectIndex.seqs(of: subject, in: $0, events: events) }
            #expect(seqs == expected[subject])
        }
        #expect(try events.read { try SubjectIndex.seqs(of: [UInt8](repeating: 0x03, count: 16), in: $0, events: events) } == [])
    }
}
