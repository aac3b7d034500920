import Foundation
import Projections
import Testing

@testable import Ledger

/// `rebuild` recomputes the structures the append path derives from the log — the event-id
/// index, the per-subject index (both levels), the stored Merkle nodes — and names a wrong entry
/// in each with a stable code; `rederiveIndexes` (`rebuild --repair`) writes them again.
@Suite
struct DerivedIndexTests {
    /// A ledger of 40 events over 5 subjects, some of whose index entries have been merged into
    /// the sorted level.
    private func ledger(_ directory: TemporaryDirectory) throws -> Ledger {
        let ledger = try Fixture.ledger(in: directory)
        _ = try ledger.append(try (0..<40).map { try Fixture.grant("d\($0 % 5)") }, actor: "t")
        try ledger.events.write { txn in try SubjectIndex.mergeIfFull(in: txn, events: ledger.events, threshold: 1) }
        _ = try ledger.append(try (0..<8).map { try Fixture.grant("d\($0 % 5)", "surveys") }, actor: "t")
        #expect(try ledger.derivedIndexMismatch() == nil)
        #expect(try ledger.derivedIndexesMatchByDigest())
        #expect(try ledger.firstDerivedIndexMismatch() == nil)
        #expect(try ledger.rebuildProjections().matches)
        return ledger
    }

    private func write(_ ledger: Ledger, _ body: (borrowing WriteTransaction) throws -> Void) throws {
        try ledger.events.write { txn in try body(txn) }
    }

    private func pseudonym(ofSeq seq: UInt64, in ledger: Ledger) throws -> [UInt8] {
        let event = try #require(try ledger.event(seq: seq))
        return try #require(Hex.decode(event.subject))
    }

    /// The check names `code`, `rebuild` reports it, and the repair restores a ledger that
    /// matches, verifies and reads each subject's events as before.
    private func expectCaughtAndRepaired(
        _ ledger: Ledger,
        _ code: DerivedStateMismatch.Code,
        naming text: String,
        subjectEventsBefore: [String: [UInt64]]
    ) throws {
        // The sequential digests see the difference (they are what `rebuild` runs first), and the
        // entry-by-entry check names it.
        #expect(try !ledger.derivedIndexesMatchByDigest())
        let mismatch = try #require(try ledger.derivedIndexMismatch())
        #expect(try ledger.firstDerivedIndexMismatch() == mismatch)
        #expect(mismatch.code == code)
        #expect(mismatch.message.contains(text), "\(mismatch.message)")
        let report = try ledger.rebuildProjections()
        #expect(report.code == code)
        #expect(report.difference == mismatch.message)
        #expect(report.json["code"]?.stringValue == code.rawValue)
        #expect(try ledger.rederiveIndexes() == 48)
        #expect(try ledger.derivedIndexesMatchByDigest())
        #expect(try ledger.derivedIndexMismatch() == nil)
        #expect(try ledger.rebuildProjections().matches)
        #expect(try ledger.verify().isValid)
        for (subject, seqs) in subjectEventsBefore {
            #expect(try ledger.subjectEvents(pseudonym: subject).map(\.seq) == seqs)
        }
    }

    private func subjectEvents(_ ledger: Ledger) throws -> [String: [UInt64]] {
        var result: [String: [UInt64]] = [:]
        try ledger.forEachEvent { event in
            result[event.subject, default: []].append(event.seq)
            return true
        }
        return result
    }

    @Test func anEventIdMappedToAnotherSeqIsCaught() throws {
        let directory = TemporaryDirectory()
        let ledger = try ledger(directory)
        let before = try subjectEvents(ledger)
        let event = try #require(try ledger.event(seq: 5))
        try write(ledger) { txn in
            try txn.put(
                EventsSchema.seqKey(3),
                forKey: UUIDText.bytes(event.eventId),
                in: ledger.events.table(EventsSchema.eventIds)
            )
        }
        try expectCaughtAndRepaired(
            ledger,
            .eventIdIndexMismatch,
            naming: "the event of seq 5",
            subjectEventsBefore: before
        )
    }

    @Test func anExtraEventIdIsCaught() throws {
        let directory = TemporaryDirectory()
        let ledger = try ledger(directory)
        let before = try subjectEvents(ledger)
        try write(ledger) { txn in
            try txn.put(
                EventsSchema.seqKey(2),
                forKey: UUIDText.bytes("00000000-0000-4000-8000-0000000000ff"),
                in: ledger.events.table(EventsSchema.eventIds)
            )
        }
        try expectCaughtAndRepaired(ledger, .eventIdIndexMismatch, naming: "49 entries", subjectEventsBefore: before)
    }

    @Test func aMissingSubjectIndexEntryIsCaughtInEitherLevel() throws {
        for seq: UInt64 in [4, 45] {
            let directory = TemporaryDirectory()
            let ledger = try ledger(directory)
            let before = try subjectEvents(ledger)
            let pseudonym = try pseudonym(ofSeq: seq, in: ledger)
            try write(ledger) { txn in
                let inSorted = try txn.delete(
                    pseudonym + EventsSchema.seqKey(seq),
                    in: ledger.events.table(EventsSchema.subjectEvents)
                )
                let inRecent = try txn.delete(
                    [SubjectIndex.bucket(of: pseudonym)] + EventsSchema.seqKey(seq),
                    in: ledger.events.table(EventsSchema.recentSubjectEvents)
                )
                // Seq 4 was merged into the sorted level; seq 45 is still recent.
                #expect(inSorted == (seq == 4) && inRecent == (seq == 45))
            }
            try expectCaughtAndRepaired(
                ledger,
                .subjectIndexMismatch,
                naming: "no entry for seq \(seq)",
                subjectEventsBefore: before
            )
        }
    }

    @Test func aSubjectIndexEntryFiledUnderAnotherSubjectIsCaught() throws {
        let directory = TemporaryDirectory()
        let ledger = try ledger(directory)
        let before = try subjectEvents(ledger)
        let other = try pseudonym(ofSeq: 2, in: ledger)
        #expect(other != (try pseudonym(ofSeq: 3, in: ledger)))
        try write(ledger) { txn in
            try txn.put([], forKey: other + EventsSchema.seqKey(3), in: ledger.events.table(EventsSchema.subjectEvents))
        }
        try expectCaughtAndRepaired(ledger, .subjectIndexMismatch, naming: "49 entries", subjectEventsBefore: before)
    }

    @Test func anEntryInBothLevelsOfTheSubjectIndexIsCaught() throws {
        let directory = TemporaryDirectory()
        let ledger = try ledger(directory)
        let before = try subjectEvents(ledger)
        // Seq 45 is in the recent level: the same entry in the sorted level too.
        let pseudonym = try pseudonym(ofSeq: 45, in: ledger)
        try write(ledger) { txn in
            try txn.put(
                [],
                forKey: pseudonym + EventsSchema.seqKey(45),
                in: ledger.events.table(EventsSchema.subjectEvents)
            )
        }
        try expectCaughtAndRepaired(ledger, .subjectIndexMismatch, naming: "both levels", subjectEventsBefore: before)
    }

    @Test func aRecentEntryInAnotherSubjectsBucketIsCaught() throws {
        let directory = TemporaryDirectory()
        let ledger = try ledger(directory)
        let before = try subjectEvents(ledger)
        let pseudonym = try pseudonym(ofSeq: 45, in: ledger)
        let bucket = SubjectIndex.bucket(of: pseudonym)
        try write(ledger) { txn in
            let recent = ledger.events.table(EventsSchema.recentSubjectEvents)
            #expect(try txn.delete([bucket] + EventsSchema.seqKey(45), in: recent))
            try txn.put(pseudonym, forKey: [bucket ^ 1] + EventsSchema.seqKey(45), in: recent)
        }
        try expectCaughtAndRepaired(ledger, .subjectIndexMismatch, naming: "seq 45", subjectEventsBefore: before)
    }

    /// A log record that is not one whole event — cut short in its payload, or with bytes after
    /// it — is `ledger_corrupt` for the check, as for `rebuild --repair`, never a match.
    @Test(arguments: [-1, 1])
    func aLogRecordThatIsNotOneWholeEventIsCorrupt(lengthChange: Int) throws {
        let directory = TemporaryDirectory()
        let ledger = try ledger(directory)
        let log = ledger.events.table(EventsSchema.log)
        try write(ledger) { txn in
            let record = try #require(try txn.get(EventsSchema.seqKey(7), in: log))
            let changed = lengthChange < 0 ? Array(record.dropLast()) : record + [0]
            try txn.put(changed, forKey: EventsSchema.seqKey(7), in: log)
        }
        #expect(try !ledger.derivedIndexesMatchByDigest())
        #expect(throws: LedgerError.self) { try ledger.derivedIndexMismatch() }
        #expect(throws: LedgerError.self) { try ledger.rederiveIndexes() }
    }

    @Test func aWrongStoredMerkleNodeIsCaught() throws {
        let directory = TemporaryDirectory()
        let ledger = try ledger(directory)
        let before = try subjectEvents(ledger)
        let root = try ledger.merkleRoot(size: 48)
        try write(ledger) { txn in
            try txn.put(
                [UInt8](repeating: 9, count: 32),
                // Leaves 32…47: a node the root of 48 is made of.
                forKey: MerkleStore.key(4, 2),
                in: ledger.events.table(EventsSchema.merkle)
            )
        }
        #expect(try ledger.merkleRoot(size: 48) != root)
        try expectCaughtAndRepaired(ledger, .merkleNodeMismatch, naming: "node 4/2", subjectEventsBefore: before)
        #expect(try ledger.merkleRoot(size: 48) == root)
    }

    @Test func anExtraMerkleNodeAndAWrongTreeSizeAreCaught() throws {
        let directory = TemporaryDirectory()
        let ledger = try ledger(directory)
        let before = try subjectEvents(ledger)
        try write(ledger) { txn in
            try txn.put(
                [UInt8](repeating: 9, count: 32),
                forKey: MerkleStore.key(1, 40),
                in: ledger.events.table(EventsSchema.merkle)
            )
        }
        try expectCaughtAndRepaired(ledger, .merkleNodeMismatch, naming: "nodes", subjectEventsBefore: before)
        try write(ledger) { txn in try MerkleStore.setSize(47, in: txn, events: ledger.events) }
        try expectCaughtAndRepaired(
            ledger,
            .merkleNodeMismatch,
            naming: "covers 47 events",
            subjectEventsBefore: before
        )
    }
}
