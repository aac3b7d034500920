import Foundation
import Ledger
import Logging
import Synchronization
import Testing

@testable import LedgerServer

/// What the writer promises around a round's commit: no answer before the commit returned, and
/// no projection catch-up for rounds that stay below the next snapshot boundary.
struct GroupCommitWriterDurabilityTests {
    /// What happened, in order, across the writer thread and the appending tasks.
    private final class Journal: Sendable {
        private let entries = Mutex<[String]>([])

        func note(_ entry: String) { entries.withLock { $0.append(entry) } }
        var all: [String] { entries.withLock { $0 } }
    }

    private func writer(
        for store: TestLedger,
        commitRound: GroupCommitWriter.CommitRound? = nil
    ) -> GroupCommitWriter {
        GroupCommitWriter(
            ledger: store.ledger,
            metrics: ServerMetrics(),
            logger: Logger(label: "ledger-server-tests"),
            capacity: 200_000,
            commitRound: commitRound
        )
    }

    private func batch(_ body: String, in store: TestLedger) throws -> PreparedBatch {
        try store.ledger.prepare([ClientEvent.decode(json: Array(body.utf8), catalogue: try store.ledger.catalogue())])
    }

    @Test func anAnswerWaitsUntilItsRoundsCommitHasReturned() async throws {
        let store = try TestLedger()
        let journal = Journal()
        let ledger = store.ledger
        // The commit itself is done, then held a while before it returns: an answer sent from
        // inside the commit, or before the call returned, would land in the journal first.
        let writer = writer(for: store) { batches in
            let outcomes = try ledger.appendGroup(batches)
            journal.note("committed \(batches.count)")
            Thread.sleep(forTimeInterval: 0.2)
            journal.note("returned")
            return outcomes
        }
        writer.start()
        let batches = try (1...8).map { try batch(Events.grant("p\($0)@example.com"), in: store) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for batch in batches {
                group.addTask {
                    let results = try await writer.append(batch, actor: "test")
                    journal.note("answered \(results.count)")
                }
            }
            try await group.waitForAll()
        }
        writer.stop()
        let entries = journal.all
        #expect(entries.filter { $0 == "answered 1" }.count == 8)
        // Each answer follows the "returned" of a round, and every round's "returned" follows its
        // "committed": an answer is never the first thing after a commit.
        var returnedRounds = 0
        var answeredSoFar = 0
        var committedInReturned = 0
        var pending = 0
        for entry in entries {
            if entry.hasPrefix("committed ") {
                pending = Int(entry.dropFirst("committed ".count)) ?? 0
            } else if entry == "returned" {
                returnedRounds += 1
                committedInReturned += pending
                pending = 0
            } else {
                answeredSoFar += 1
                #expect(answeredSoFar <= committedInReturned, "an answer came before its round's commit returned")
            }
        }
        #expect(returnedRounds >= 1)
        #expect(try store.events().count == 8)
    }

    @Test func aRoundWhoseCommitFailsAnswersEveryBatchWithTheError() async throws {
        let store = try TestLedger()
        let writer = writer(for: store) { _ in throw LedgerError(.ioError, "the disk is gone") }
        writer.start()
        let batch = try batch(Events.grant("q@example.com"), in: store)
        await #expect(throws: LedgerError.self) { try await writer.append(batch, actor: "test") }
        writer.stop()
        #expect(try store.events().isEmpty)
    }

    @Test func roundsBelowTheNextSnapshotBoundaryStartNoCatchUp() async throws {
        let store = try TestLedger(snapshotInterval: 10)
        let writer = writer(for: store)
        writer.start()
        // The start runs one catch-up, which finds the next boundary at seq 10.
        writer.snapshots.drain()
        let afterStart = writer.snapshots.catchUpCount
        #expect(afterStart == 1)
        for n in 1...10 {
            _ = try await writer.append(try batch(Events.grant("r\(n)@example.com"), in: store), actor: "test")
            writer.snapshots.drain()
        }
        // Stopping waits for the writer thread and then for the snapshot queue, so every nudge
        // the ten rounds gave has been acted on: only the round that reached seq 10 ran one.
        writer.stop()
        #expect(writer.snapshots.catchUpCount == afterStart + 1, "a round below seq 10 ran a catch-up")
        #expect(try store.ledger.snapshotSeqs() == [10])
    }
}
