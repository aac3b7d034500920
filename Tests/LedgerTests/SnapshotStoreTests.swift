import Testing

@testable import Ledger

struct SnapshotStoreTests {
    @Test func largeSnapshotsRoundTripInChunksAndHalfWrittenOnesAreInvisible() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let big = (0..<(SnapshotStore.chunkSize * 2 + 1_000)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(try ledger.storeSnapshot(big, at: 100))
        #expect(
            try !ledger.storeSnapshot([1, 2, 3], at: 100),
            "a stored snapshot is never replaced by the background path"
        )
        #expect(try ledger.snapshot(atOrBefore: 150)?.bytes == big)
        #expect(try ledger.snapshot(atOrBefore: 99) == nil)
        // Chunks of seq 200 without their manifest, as a crash mid-write leaves them: not a snapshot.
        try ledger.events.write { txn in
            try txn.put([9, 9, 9], forKey: SnapshotStore.key(200, 1), in: ledger.events.table(EventsSchema.snapshots))
        }
        #expect(try ledger.snapshot(atOrBefore: 250)?.seq == 100)
        #expect(try ledger.snapshotSeqs() == [100])
        #expect(try ledger.storeSnapshot([7, 7], at: 200))
        #expect(try ledger.snapshot(atOrBefore: 250)?.bytes == [7, 7])
        // A damaged chunk is found by the manifest's digest.
        try ledger.events.write { txn in
            try txn.put([0], forKey: SnapshotStore.key(100, 2), in: ledger.events.table(EventsSchema.snapshots))
        }
        #expect(errorCode { _ = try ledger.snapshot(atOrBefore: 150) } == .ledgerCorrupt)
    }
}
