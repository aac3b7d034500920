import Foundation
import Ledger
import Logging

/// Runs ``SnapshotCatchUp`` on a background queue, one run at a time, when a commit round reaches
/// the next snapshot boundary: the server's writer nudges it after its rounds, and an `import`
/// after each chunk (``Ledger/importWritingSnapshotsBeside(from:actor:catalogue:logger:progress:)``).
///
/// A catch-up reads the latest snapshot whole (every chunk, and its SHA-256) before it can tell
/// that nothing is due, so running one after every round kept a core busy at high round rates.
/// The scheduler remembers where the next snapshot falls and lets rounds below it pass for the
/// cost of a lock.
package final class SnapshotScheduler: @unchecked Sendable {
    // Invariant: `running`, `again`, `nextDue` and `catchUps` are only touched under `lock`.
    private let ledger: Ledger
    private let logger: Logger
    private let queue = DispatchQueue(label: "ledger-snapshots", qos: .utility)
    private let lock = NSLock()
    private var running = false
    private var again = false
    /// The lowest head at which a snapshot may be missing; 0 until a catch-up has looked (and
    /// after one failed), so that the next nudge runs one.
    private var nextDue: UInt64 = 0
    /// Catch-ups run so far (tests check that rounds below a boundary start none).
    private var catchUps = 0
    /// The fold at the last snapshot a catch-up stored, which the next goes on from (only one
    /// catch-up runs at a time, on `queue`).
    private let continuation: SnapshotContinuation

    /// - Parameter keepsSpareBuffer: See ``SnapshotContinuation/init(keepsSpareBuffer:)``: a
    ///   server's scheduler lives as long as the server and gives it up; an import's keeps it.
    package init(ledger: Ledger, logger: Logger, keepsSpareBuffer: Bool = false) {
        self.ledger = ledger
        self.logger = logger
        continuation = SnapshotContinuation(keepsSpareBuffer: keepsSpareBuffer)
    }

    /// Asks for a catch-up once the log's head has reached `head`; cheap below the next snapshot
    /// boundary. `nil` (an erasure's round, the start) always asks.
    package func nudge(reaching head: UInt64? = nil) {
        lock.lock()
        defer { lock.unlock() }
        if let head, head < nextDue { return }
        if running {
            again = true
            return
        }
        running = true
        queue.async { [self] in work() }
    }

    /// Waits for a catch-up under way to finish.
    package func drain() { queue.sync {} }

    /// Runs catch-ups on the queue, now, with what this scheduler kept, until the last boundary
    /// at or below the head has its snapshot (a run stops early where another writer stored a
    /// snapshot first, and the next goes on from there); at most `attempts` runs. Throws what a
    /// run throws.
    /// - Returns: Whether the last boundary's snapshot is stored.
    package func storeDueNow(attempts: Int = 4) throws -> Bool {
        try queue.sync {
            for _ in 0..<max(1, attempts) {
                if try lastBoundaryIsStored() { return true }
                _ = try SnapshotCatchUp.run(ledger, continuation: continuation)
            }
            return try lastBoundaryIsStored()
        }
    }

    /// Whether the last interval boundary at or below the head has its snapshot (true before the
    /// first boundary).
    private func lastBoundaryIsStored() throws -> Bool {
        let head = try ledger.head().seq
        let interval = max(1, try ledger.snapshotInterval())
        let lastBoundary = head / interval * interval
        guard lastBoundary > 0 else { return true }
        return try ledger.snapshotSeq(atOrBefore: head) == lastBoundary
    }

    /// How many catch-ups have run.
    package var catchUpCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return catchUps
    }

    private func work() {
        while true {
            var due: UInt64 = 0
            do {
                // Read before the catch-up, which sees this head or a later one: the boundary
                // after it is never later than the one after the catch-up's head.
                let head = try ledger.head().seq
                let interval = max(1, try ledger.snapshotInterval())
                let written = try SnapshotCatchUp.run(ledger, continuation: continuation)
                if written > 0 { logger.info("projection snapshots written", metadata: ["count": "\(written)"]) }
                due = (head / interval + 1) * interval
            } catch {
                logger.error("projection snapshot failed", metadata: ["error": "\(error)"])
            }
            lock.lock()
            nextDue = due
            catchUps += 1
            if again {
                again = false
                lock.unlock()
                continue
            }
            running = false
            lock.unlock()
            return
        }
    }
}
