import Foundation
import Ledger
import Logging
import Testing

@testable import LedgerServer

/// Group commit's gathering (``GroupCommitWriter``'s `gather()`): a few clients that each keep
/// one request in flight end up in one round per commit instead of taking turns, many are left to
/// take turns, and nothing waits when no other request is coming. The commit is the ledger's own, made slow (50 ms, like a slow
/// disk's flush), and a wait may last up to 1 s instead of half a commit, so that what is checked
/// does not depend on how busy this machine is: the clients' next requests arrive well within it.
struct GroupCommitGatheringTests {
    /// Runs `clients` concurrent clients, each appending `each` single events one after another;
    /// returns the number of requests in each round, and how many rounds waited to gather.
    private func run(clients: Int, each: Int) async throws -> (rounds: [Int], waits: Int) {
        let store = try TestLedger()
        let ledger = store.ledger
        let rounds = Locked<[Int]>([])
        let metrics = ServerMetrics()
        let writer = GroupCommitWriter(
            ledger: ledger,
            metrics: metrics,
            logger: Logger(label: "ledger-server-tests"),
            capacity: 200_000,
            gatherLimit: 1_000_000_000,
            gatherShare: 100,
            commitRound: { batches in
                rounds.withLock { $0.append(batches.count) }
                Thread.sleep(forTimeInterval: 0.05)
                return try ledger.appendGroup(batches)
            }
        )
        writer.start()
        let catalogue = try ledger.catalogue()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
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
            try await group.waitForAll()
        }
        writer.stop()
        #expect(try store.events().count == clients * each, "every append committed")
        let exported = metric("ledger_gathered_rounds_total", in: metrics.render()) ?? 0
        #expect(exported == Double(writer.gatheringWaits), "GET /metrics shows the gathered rounds")
        return (rounds.withLock { $0 }, writer.gatheringWaits)
    }

    @Test func clientsTakingTurnsMergeIntoOneRoundPerCommit() async throws {
        let (rounds, waits) = try await run(clients: 8, each: 10)
        #expect(rounds.reduce(0, +) == 80)
        // Without gathering, the round after a wait for the first request holds one request and
        // the next the other seven: about twenty rounds. With it, every round after the first one
        // or two holds all eight.
        #expect(rounds.count <= 13, "rounds: \(rounds)")
        #expect(waits > 0)
    }

    @Test func sixteenClientsAreNotGatheredButTakeTurns() async throws {
        // More than `gatherMostRequests` in flight: the rounds are left to take turns, which keeps
        // the cores busy with one group while the other's round flushes.
        let (rounds, waits) = try await run(clients: 16, each: 5)
        #expect(rounds.reduce(0, +) == 80)
        #expect(waits == 0, "rounds: \(rounds)")
    }

    @Test func aLoneClientNeverWaits() async throws {
        let (rounds, waits) = try await run(clients: 1, each: 12)
        #expect(rounds == Array(repeating: 1, count: 12))
        #expect(waits == 0)
    }
}
