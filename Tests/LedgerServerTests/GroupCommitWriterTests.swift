import Foundation
import Ledger
import Logging
import Testing

@testable import LedgerServer

/// The group-commit writer on its own: jobs queued before it starts are committed together in one
/// round, where a refused batch is rolled back alone.
struct GroupCommitWriterTests {
    /// Appends `bodies` (one batch each) from concurrent tasks to a writer that starts only once
    /// every batch is queued, so that all of them share its first round.
    private func appendInOneRound(
        _ bodies: [String],
        to store: TestLedger
    ) async throws -> (outcomes: [Result<[AppendResult], LedgerError>], metrics: String) {
        let metrics = ServerMetrics()
        let writer = GroupCommitWriter(
            ledger: store.ledger,
            metrics: metrics,
            logger: Logger(label: "ledger-server-tests"),
            capacity: 200_000
        )
        let catalogue = try store.ledger.catalogue()
        let batches = try bodies.map {
            try store.ledger.prepare([ClientEvent.decode(json: Array($0.utf8), catalogue: catalogue)])
        }
        return try await withThrowingTaskGroup(of: (Int, Result<[AppendResult], LedgerError>).self) { group in
            for (index, batch) in batches.enumerated() {
                group.addTask {
                    do {
                        return (index, .success(try await writer.append(batch, actor: "test")))
                    } catch let error as LedgerError {
                        return (index, .failure(error))
                    }
                }
            }
            // Wait until every batch is queued; only then may rounds begin. (The writer starts
            // regardless, so that a failure here cannot leave the appends waiting forever.)
            var polls = 0
            while metric("ledger_queue_depth_events", in: metrics.render()) != Double(bodies.count), polls < 60_000 {
                polls += 1
                try? await Task.sleep(for: .milliseconds(1))
            }
            writer.start()
            #expect(polls < 60_000, "the batches were never all queued")
            var outcomes: [Result<[AppendResult], LedgerError>?] = Array(repeating: nil, count: bodies.count)
            for try await (index, outcome) in group { outcomes[index] = outcome }
            writer.stop()
            return (outcomes.compactMap { $0 }, metrics.render())
        }
    }

    @Test func aRefusedBatchInARoundFailsAloneAndTheOthersCommit() async throws {
        let store = try TestLedger()
        let bodies = (1...20).map { n in
            n % 4 == 0
                ? #"{"type":"access.completed","subject":"s\#(n)","requestId":"\#(Events.eventId(9_000 + n))"}"#
                : Events.accessRequest("s\(n)", eventId: Events.eventId(n))
        }
        let (outcomes, metrics) = try await appendInOneRound(bodies, to: store)
        #expect(outcomes.count == bodies.count)
        #expect(metric("ledger_commit_rounds_total", in: metrics) == 1)
        var committed: [String] = []
        for (index, outcome) in outcomes.enumerated() {
            let n = index + 1
            switch outcome {
            case .success(let results):
                #expect(n % 4 != 0, "call \(n) should have been refused")
                committed += results.map(\.eventId)
            case .failure(let error):
                #expect(n % 4 == 0, "call \(n) was refused: \(error.code.rawValue)")
                #expect(error.code == .requestNotOpen)
            }
        }
        let accepted = (1...20).filter { $0 % 4 != 0 }.map(Events.eventId)
        #expect(committed.sorted() == accepted.sorted())
        let events = try store.events()
        #expect(events.map(\.seq) == (1...accepted.count).map(UInt64.init))
        #expect(Set(events.map(\.eventId)) == Set(accepted))
    }

    @Test func aRetryQueuedBehindItsOriginalInTheSameRoundGetsTheOriginalsAnswer() async throws {
        let store = try TestLedger()
        let event = Events.grant("ivan@example.com", eventId: Events.eventId(1))
        let (outcomes, metrics) = try await appendInOneRound(
            [event, event, Events.grant("judy@example.com")],
            to: store
        )
        #expect(metric("ledger_commit_rounds_total", in: metrics) == 1)
        let results = try outcomes.map { try $0.get() }
        #expect(results.map { $0.map(\.seq) } == [[1], [1], [2]])
        #expect(results.map { $0.map(\.replayed) } == [[false], [true], [false]])
        #expect(results[0].first?.hash == results[1].first?.hash)
        #expect(try store.events().count == 2)
    }
}
