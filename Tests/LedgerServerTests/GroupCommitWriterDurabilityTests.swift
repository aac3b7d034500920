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

    /// Rounds committed so far, shared between the writer thread, the flusher and the test.
    private final class Counter: Sendable {
        private let value = Mutex(0)

        func increment() -> Int {
            value.withLock {
                $0 += 1
                return $0
            }
        }
        var current: Int { value.withLock { $0 } }
    }

    private func writer(
        for store: TestLedger,
        commitRound: GroupCommitWriter.CommitRound? = nil,
        flushLog: RoundFlusher.Flush? = nil
    ) -> GroupCommitWriter {
        GroupCommitWriter(
            ledger: store.ledger,
            metrics: ServerMetrics(),
            logger: Logger(label: "ledger-server-tests"),
            capacity: 200_000,
            commitRound: commitRound,
            flushLog: flushLog
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

    /// The server's log commits leave their meta page for a later flush, so a round is answered
    /// only after a flush that began once its commit had returned; and the writer does not wait
    /// for that flush: the next round commits while it runs.
    @Test func anAnswerWaitsForAFlushThatBeganAfterItsCommitWhileTheNextRoundCommits() async throws {
        let store = try TestLedger()
        let journal = Journal()
        let ledger = store.ledger
        let commits = Counter()
        let writer = writer(
            for: store,
            commitRound: { batches in
                let outcomes = try ledger.appendGroup(batches)
                let round = commits.increment()
                journal.note("committed \(round)")
                return outcomes
            },
            flushLog: {
                let through = commits.current
                journal.note("flush begins \(through)")
                // The first flush is held until a second round has committed (or 10 s passed).
                if through == 1 {
                    let deadline = Date().addingTimeInterval(10)
                    while commits.current < 2, Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
                }
                try ledger.flushLog()
                journal.note("flushed \(through)")
            }
        )
        writer.start()
        let first = Task {
            let results = try await writer.append(try batch(Events.grant("f1@example.com"), in: store), actor: "test")
            journal.note("answered \(results[0].seq)")
        }
        while commits.current < 1 { try await Task.sleep(for: .milliseconds(2)) }
        let second = try await writer.append(try batch(Events.grant("f2@example.com"), in: store), actor: "test")
        journal.note("answered \(second[0].seq)")
        try await first.value
        writer.stop()
        let entries = journal.all
        // The second round committed while the first round's flush was held.
        let heldFlush = try #require(entries.firstIndex(of: "flush begins 1"))
        let heldFlushEnd = try #require(entries.firstIndex(of: "flushed 1"))
        let secondCommit = try #require(entries.firstIndex(of: "committed 2"))
        #expect(heldFlush < secondCommit && secondCommit < heldFlushEnd, "\(entries)")
        // Each answer (seq n is round n's) follows a flush that began after its round committed.
        for seq in 1...2 {
            let answered = try #require(entries.firstIndex(of: "answered \(seq)"))
            let covering = entries.indices.filter { index in
                guard entries[index].hasPrefix("flushed "), let through = Int(entries[index].dropFirst(8)) else {
                    return false
                }
                return through >= seq && index < answered
            }
            #expect(!covering.isEmpty, "seq \(seq) was answered before a flush covered it: \(entries)")
        }
        #expect(try store.events().count == 2)
    }

    /// A flush that fails answers every round it was for with the error: none is acknowledged.
    @Test func aRoundWhoseFlushFailsIsNotAcknowledged() async throws {
        let store = try TestLedger()
        let writer = writer(for: store, flushLog: { throw LedgerError(.ioError, "the disk is gone") })
        writer.start()
        let batch = try batch(Events.grant("g@example.com"), in: store)
        await #expect(throws: LedgerError.self) { try await writer.append(batch, actor: "test") }
        writer.stop()
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
