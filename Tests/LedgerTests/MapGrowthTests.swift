import Foundation
import Projections
import Testing

@testable import Ledger

/// A map that fills up grows, whatever inside the transaction filled it: the log, the key store
/// after an erasure's compaction replaced its file, or an observer writing a large snapshot.
@Suite struct MapGrowthTests {
    private func grants(_ prefix: String, _ count: Int) throws -> [ClientEvent] {
        try (0..<count).map { try Fixture.grant("\(prefix)-\($0)@example.no") }
    }

    /// Stores a snapshot of `size` bytes after every append, as the projections' observer does at
    /// its interval (at a million subjects a snapshot is tens of megabytes).
    private struct LargeSnapshots: LogObserver {
        let size: Int
        func logDidGrow(_ context: borrowing LogObserverContext) throws {
            let bytes = Array(repeating: UInt8(truncatingIfNeeded: context.head), count: size)
            try context.storeSnapshot(bytes, at: context.head)
        }
    }

    /// A ledger on a 1 MiB map whose every append stores a 3 MiB snapshot.
    private func ledgerFilledBySnapshots(in directory: TemporaryDirectory) throws -> Ledger {
        var options = Fixture.options()
        options.initialMapSize = 1 << 20
        options.observers = [LargeSnapshots(size: 3 << 20)]
        return try Fixture.ledger(in: directory, options: options)
    }

    @Test func theKeyStoreGrowsAfterACompactionReplacedIt() throws {
        let directory = TemporaryDirectory()
        var options = Fixture.options()
        options.keyStoreInitialMapSize = 256 << 10
        let ledger = try Fixture.ledger(in: directory, options: options)
        // Past the initial map: the store has grown at least once before the erasure.
        for chunk in 0..<4 { _ = try ledger.append(try grants("before-\(chunk)", 1_000), actor: "t") }
        _ = try ledger.erase(subject: "before-0-0@example.no", requestId: nil, actor: "t")
        try ledger.compactKeyStore()
        // The compacted copy is reopened; new subjects must make it grow again, several times.
        for chunk in 0..<8 { _ = try ledger.append(try grants("after-\(chunk)", 1_000), actor: "t") }
        #expect(try ledger.keyStore.subjectCount() == 11_999)
        #expect(try ledger.pseudonym(of: "after-7-999@example.no") != nil)
        #expect(try ledger.verify().isValid)
    }

    /// LMDB maps a data file larger than the configured initial map only to the end of its data,
    /// leaving no room: the map grows as the environment opens, so the first write runs once.
    /// Before, it filled the map and ran its whole transaction again after growing it (at a
    /// million subjects every import wrote its first chunk twice, and again for the key store).
    @Test func anEnvironmentOpenedOverMoreDataThanItsInitialMapWritesAtTheFirstAttempt() throws {
        let directory = TemporaryDirectory()
        let configuration = Environment.Configuration(initialMapSize: 1 << 20, mapCeiling: 1 << 26)
        do {
            let filled = try Environment(path: directory.path + "/env", tables: ["t"], configuration: configuration)
            let table = filled.table("t")
            try filled.write { txn in try txn.put(Array(repeating: 1, count: 3 << 20), forKey: [0], in: table) }
        }
        let environment = try Environment(path: directory.path + "/env", tables: ["t"], configuration: configuration)
        let table = environment.table("t")
        var attempts = 0
        try environment.withTransactions {
            attempts += 1
            let txn = try environment.beginWrite()
            try txn.put(Array(repeating: 2, count: 256 << 10), forKey: [1], in: table)
            try txn.commit()
        }
        #expect(attempts == 1)
        #expect(try environment.read { txn in try txn.get([1], in: table)?.count } == 256 << 10)
    }

    /// Two writers that each fill the map before either has grown it: the one that grows second
    /// finds the map already grown since its attempt began and runs again, rather than doubling it
    /// once more (here past the ceiling, which refused a write that now fits `ledger_full`).
    @Test func twoWritersThatFillTheMapTogetherGrowItOnce() throws {
        let directory = TemporaryDirectory()
        let environment = try Environment(
            path: directory.path + "/env",
            tables: ["t"],
            configuration: .init(initialMapSize: 1 << 20, mapCeiling: 1 << 21)
        )
        let table = environment.table("t")
        try environment.write { txn in try txn.put(Array(repeating: 0, count: 600 << 10), forKey: [0], in: table) }
        // Each value fits beside the filler in 2 MiB but not in 1 MiB; both fit in 2 MiB together.
        let value = [UInt8](repeating: 1, count: 500 << 10)
        let secondAttemptBegan = DispatchSemaphore(value: 0)
        let firstWriteFailed = DispatchSemaphore(value: 0)
        let attempts = Locked([0, 0])
        let failures = Locked<[String]>([])
        // Two threads of their own: the choreography needs both running at once.
        let finished = DispatchGroup()
        for writer in 0..<2 {
            finished.enter()
            Thread {
                defer { finished.leave() }
                write(writer)
            }.start()
        }
        finished.wait()
        @Sendable func write(_ writer: Int) {
            do {
                try environment.withTransactions {
                    let attempt = attempts.withLock { counts in
                        counts[writer] += 1
                        return counts[writer]
                    }
                    // The first attempts: writer 1 holds its gate shared (as any writer inside
                    // its attempt does) until writer 0 has failed on the full map, then fails too.
                    if writer == 1, attempt == 1 {
                        secondAttemptBegan.signal()
                        firstWriteFailed.wait()
                    }
                    if writer == 0, attempt == 1 { secondAttemptBegan.wait() }
                    do {
                        let txn = try environment.beginWrite()
                        try txn.put(value, forKey: [UInt8(writer + 1)], in: table)
                        try txn.commit()
                    } catch {
                        if writer == 0, attempt == 1 { firstWriteFailed.signal() }
                        throw error
                    }
                }
            } catch {
                failures.withLock { $0.append("writer \(writer): \(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        #expect(attempts.withLock { $0 } == [2, 2])
        let stored = try environment.read { txn in
            try [1, 2].map { key in try txn.get([UInt8(key)], in: table) == value }
        }
        #expect(stored == [true, true])
    }

    /// Found by the growth benchmark at a million subjects: the snapshot observer converted the
    /// full map into a `LedgerError`, which the retry loop did not take for a full map, so the
    /// append was refused `ledger_full` ("reached its configured size ceiling") on a map that
    /// could still double, and at every later snapshot boundary again.
    @Test func aSnapshotThatFillsTheMapMakesItGrow() throws {
        let directory = TemporaryDirectory()
        let ledger = try ledgerFilledBySnapshots(in: directory)
        let appended = try ledger.append([try Fixture.grant("first@example.no")], actor: "t")
        #expect(appended.map(\.seq) == [1])
        #expect(try ledger.storedSnapshot(at: 1)?.count == 3 << 20)
        #expect(try ledger.verify().isValid)
    }

    /// In a group commit a full map is no refusal of the batch that filled it: the map grows and
    /// every batch of the group commits.
    @Test func aSnapshotThatFillsTheMapInAGroupCommitRefusesNoBatch() throws {
        let directory = TemporaryDirectory()
        let ledger = try ledgerFilledBySnapshots(in: directory)
        let batches = try (0..<3).map { n in
            (events: try ledger.prepare([try Fixture.grant("group-\(n)@example.no")]), actor: "t")
        }
        let outcomes = try ledger.appendGroup(batches)
        #expect(outcomes.map { (try? $0.get())?.map(\.seq) } == [[1], [2], [3]])
        #expect(try ledger.head().seq == 3)
        #expect(try ledger.verify().isValid)
    }

    /// The projections' own observer on a map that keeps filling: appends whose transactions ran
    /// again after the map grew (the observer with them, its kept projection then stale) leave
    /// every snapshot equal to a fold of its first events from nothing.
    @Test func snapshotsWrittenWhileTheMapGrowsAreTheFoldOfTheirEvents() throws {
        let directory = TemporaryDirectory()
        var options = Fixture.options()
        options.initialMapSize = 1 << 20
        options.observers = [SnapshotObserver()]
        let ledger = try Ledger.create(
            at: directory.ledger,
            catalogue: nil,
            snapshotInterval: 500,
            options: options
        ).ledger
        for chunk in 0..<6 { _ = try ledger.append(try grants("snap-\(chunk)", 1_000), actor: "t") }
        let seqs = try ledger.snapshotSeqs()
        #expect(seqs == Array(stride(from: 500, through: 6_000, by: 500)))
        let rules = try ledger.projectionRules()
        for seq in seqs {
            var folded = LedgerProjection()
            try ledger.forEachSummary(from: 1, through: seq) { folded.apply($0, rules: rules) }
            #expect(try ledger.storedSnapshot(at: seq) == folded.snapshot, "the snapshot at \(seq)")
        }
        // Some of them deltas of a whole one, written by an observer whose transactions ran again.
        #expect(try seqs.contains { try ledger.snapshotIsDelta(at: $0) == true })
    }
}
