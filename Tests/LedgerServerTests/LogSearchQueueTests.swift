import Foundation
import Ledger
import Testing

@testable import LedgerServer

/// The queue of searches that read the whole log: at most four running or waiting, one at a time,
/// a fifth refused at once with `too_many_connections` (503), room again once one ends.
struct LogSearchQueueTests {
    @Test func aFifthSearchIsRefusedAtOnceAndTheQueueRunsOneAtATime() async throws {
        let queue = LogSearchQueue()
        let release = DispatchSemaphore(value: 0)
        let running = Counter()
        let searches = (0..<LogSearchQueue.mostWaiting).map { index in
            Task {
                try await queue.run { () -> Int in
                    let concurrent = running.enter()
                    release.wait()
                    running.leave()
                    return concurrent * 100 + index
                }
            }
        }
        // Wait until the first search is running and the others wait behind it.
        while running.entered == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let refused = await #expect(throws: LedgerError.self) { try await queue.run { 0 } }
        #expect(refused?.code == .tooManyConnections)
        for _ in searches { release.signal() }
        var results: [Int] = []
        for search in searches { results.append(try await search.value) }
        // Every one ran, and never beside another.
        #expect(results.map { $0 % 100 }.sorted() == Array(0..<LogSearchQueue.mostWaiting))
        #expect(results.allSatisfy { $0 / 100 == 1 })
        #expect(try await queue.run { 7 } == 7)
    }

    /// Counts the bodies running at once.
    private final class Counter: @unchecked Sendable {
        // Invariant: `now` and `total` are touched only under `lock`.
        private let lock = NSLock()
        private var now = 0
        private var total = 0

        var entered: Int { lock.withLock { total } }

        /// Marks one more running; returns how many run now, this one included.
        func enter() -> Int {
            lock.withLock {
                now += 1
                total += 1
                return now
            }
        }

        func leave() { lock.withLock { now -= 1 } }
    }
}
