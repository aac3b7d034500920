import Foundation
import Ledger

/// Runs the key-store compactions `POST /v1/keys/compact` asks for (they only reclaim space; an
/// erasure needs none), on a queue of its own, one at a time: each run serves every request
/// submitted before it began, and no commit round waits for a copy.
final class CompactionBatcher: @unchecked Sendable {
    /// Told how the compaction that served its request ended.
    typealias Completion = @Sendable (Result<Void, any Error>) -> Void

    private let ledger: Ledger
    private let queue = DispatchQueue(label: "ledger-compactions", qos: .utility)
    private let waiting = Locked<[Completion]>([])

    init(ledger: Ledger) { self.ledger = ledger }

    /// Asks for a compaction that begins after this call; `completion` is told how it ended.
    func submit(_ completion: @escaping Completion) {
        waiting.withLock { $0.append(completion) }
        queue.async { [self] in runOnce() }
    }

    /// Waits until every submitted request has been served.
    func drain() { queue.sync {} }

    private func runOnce() {
        let batch = waiting.withLock { requests -> [Completion] in
            defer { requests.removeAll() }
            return requests
        }
        guard !batch.isEmpty else { return }
        let outcome = Result { try ledger.compactKeyStore() }
        for completion in batch { completion(outcome) }
    }
}
