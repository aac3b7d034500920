import Foundation
import Projections
import Testing

@testable import Ledger

/// The snapshot observer folds on from the projection it last wrote only while that is what the
/// stored latest snapshot holds.
@Suite struct SnapshotObserverTests {
    /// After the snapshot the observer wrote is replaced by different bytes (here, one subject
    /// fewer), the next boundary folds on from the stored snapshot, not from the projection the
    /// observer kept: the kept one would give the true fold instead.
    @Test func aReplacedSnapshotIsFoldedOnFromNotTheKeptProjection() throws {
        let directory = TemporaryDirectory()
        var options = Fixture.options()
        options.observers = [SnapshotObserver()]
        let ledger = try Ledger.create(at: directory.ledger, catalogue: nil, snapshotInterval: 10, options: options)
            .ledger
        _ = try ledger.append(try (0..<10).map { try Fixture.grant("first-\($0)@example.no") }, actor: "t")
        #expect(try ledger.snapshotSeqs() == [10])
        let rules = try ledger.projectionRules()
        func fold(through seq: UInt64, from start: LedgerProjection = LedgerProjection()) throws -> LedgerProjection {
            var projection = start
            try ledger.forEachSummary(from: projection.throughSeq + 1, through: seq) {
                projection.apply($0, rules: rules)
            }
            return projection
        }
        var altered = try fold(through: 10)
        let dropped = try #require(altered.subjects.keys.first)
        altered.subjects.removeValue(forKey: dropped)
        try ledger.removeAllSnapshots()
        try ledger.storeSnapshot(altered.snapshot, at: 10)

        _ = try ledger.append(try (0..<10).map { try Fixture.grant("second-\($0)@example.no") }, actor: "t")
        let stored = try #require(try ledger.storedSnapshot(at: 20))
        #expect(stored == (try fold(through: 20, from: altered)).snapshot)
        #expect(stored != (try fold(through: 20)).snapshot, "the test tells the two apart")
    }
}
