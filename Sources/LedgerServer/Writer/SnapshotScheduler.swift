import Foundation
import Ledger
import Logging
import Projections

/// Runs ``SnapshotCatchUp`` on a background queue, one run at a time, when commit rounds ask.
final class SnapshotScheduler: @unchecked Sendable {
    // Invariant: `running` and `again` are only touched under `lock`.
    private let ledger: Ledger
    private let logger: Logger
    private let queue = DispatchQueue(label: "ledger-snapshots", qos: .utility)
    private let lock = NSLock()
    private var running = false
    private var again = false

    init(ledger: Ledger, logger: Logger) {
        self.ledger = ledger
        self.logger = logger
    }

    /// Asks for a catch-up; cheap when there is nothing to write.
    func nudge() {
        lock.lock()
        defer { lock.unlock() }
        if running {
            again = true
            return
        }
        running = true
        queue.async { [self] in work() }
    }

    /// Waits for a catch-up under way to finish.
    func drain() { queue.sync {} }

    private func work() {
        while true {
            do {
                let written = try SnapshotCatchUp.run(ledger)
                if written > 0 { logger.info("projection snapshots written", metadata: ["count": "\(written)"]) }
            } catch {
                logger.error("projection snapshot failed", metadata: ["error": "\(error)"])
            }
            lock.lock()
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
