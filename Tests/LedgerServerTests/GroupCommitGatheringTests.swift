import Foundation
import Ledger
import Logging
import Testing

@testable import LedgerServer

/// Group commit's gathering (``GroupCommitWriter``'s `gather()`): a few clients that each keep
/// one request in flight end up in one round per commit instead of taking turns, many are left to
/// take turns, and nothing waits when no other request is coming. The commit is the ledger's own, made slow (50 ms, like a slow
/// disk's flush), the writer starts once every client's first request is queued, and a wait may
/// last up to an hour instead of half a commit (the clients always come back), so that nothing checked depends on how busy
/// this machine is: the clients' next requests arrive well within it.
struct GroupCommitGatheringTests {
    /// Runs `clients` concurrent clients, each appending `each` single events one after another;
    /// returns the number of requests in each round, and how many rounds waited to gather.
    private func run(clients: Int, each: Int) async throws -> (rounds: [Int], waits: Int) {
        try await run(requests: Array(repeating: each, count: clients))
    }

    /// Runs one client per entry of `requests`, each appending that many single events one after
    /// another.
    private func run(requests: [Int]) async throws -> (rounds: [Int], waits: Int) {
        let clients = requests.count
        let store = try TestLedger()
        let ledger = store.ledger
        let rounds = Locked<[Int]>([])
        let metrics = ServerMetrics()
        let writer = GroupCommitWriter(
            ledger: ledger,
            metrics: metrics,
            logger: Logger(label: "ledger-server-tests"),
            capacity: 200_000,
            gatherLimit: 3_600_000_000_000,
            gatherShare: 1_000_000_000,
            commitRound: { batches in
                rounds.withLock { $0.append(batches.count) }
                Thread.sleep(forTimeInterval: 0.05)
                return try ledger.appendGroup(batches)
            }
        )
        let catalogue = try ledger.catalogue()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (client, each) in requests.enumerated() {
                group.addTask {
                    for n in 0..<each {
                        let body = Events.accessRequest("client-\(client)", eventId: Events.eventId(client * 1_000 + n))
                        let batch = try ledger.prepare([
                            ClientEvent.decode(json: Array(body.utf8), catalogue: catalogue)
                        ])
                        _ = try await writer.append(batch, actor: "test")
                    }
                }
            }
            // The writer starts once every client's first request is queued, so the first round
            // holds all of them, whatever this machine's load does to the clients' tasks.
            var polls = 0
            while metric("ledger_queue_depth_events", in: metrics.render()) != Double(clients), polls < 60_000 {
                polls += 1
                try? await Task.sleep(for: .milliseconds(1))
            }
            writer.start()
            #expect(polls < 60_000, "the first requests were never all queued")
            try await group.waitForAll()
        }
        writer.stop()
        #expect(try store.events().count == requests.reduce(0, +), "every append committed")
        let exported = metric("ledger_gathered_rounds_total", in: metrics.render()) ?? 0
        #expect(exported == Double(writer.gatheringWaits), "GET /metrics shows the gathered rounds")
        return (rounds.withLock { $0 }, writer.gatheringWaits)
    }

    @Test func clientsTakingTurnsMergeIntoOneRoundPerCommit() async throws {
        let (rounds, waits) = try await run(clients: 8, each: 10)
        // Without gathering, the clients answered by a round come back after the next round has
        // begun with fewer of them, and they drift into groups (17 rounds in a run without it).
        // With it, every round holds all eight.
        #expect(rounds == Array(repeating: 8, count: 10), "rounds: \(rounds)")
        #expect(waits > 0)
    }

    @Test func aRoundAfterOneOfMoreThanEightRequestsDoesNotWait() async throws {
        // Sixteen requests in the first round; then one client sends again. More than
        // `gatherMostRequests` were answered, so the second round begins at once with the one
        // request (gathering would wait for sixteen that never come).
        let (rounds, waits) = try await run(requests: [2] + Array(repeating: 1, count: 15))
        #expect(rounds == [16, 1])
        #expect(waits == 0)
    }

    @Test func aLoneClientNeverWaits() async throws {
        let (rounds, waits) = try await run(clients: 1, each: 12)
        #expect(rounds == Array(repeating: 1, count: 12))
        #expect(waits == 0)
    }
}
