import Foundation
import Ledger

/// Finishes the erasures whose events the writer thread committed: overwrites each subject's key
/// slot and lookup buckets and flushes them, then deletes its slot number
/// (``Ledger/shredKey(of:)``, ``Ledger/finishErasure(_:)``), on a queue of its own, one erasure at
/// a time. The flushes hold no writer lock, so append rounds go on meanwhile; only the slot
/// number's deletion and the pending marker's take a commit each.
final class ErasureShredder: Sendable {
    /// Told how the erasure ended: its answer once the key is gone, or why it could not be
    /// destroyed (the next open finishes it then).
    typealias Completion = @Sendable (Result<ErasureResult, any Error>) -> Void

    private let ledger: Ledger
    private let queue = DispatchQueue(label: "ledger-erasures", qos: .userInitiated)

    init(ledger: Ledger) { self.ledger = ledger }

    /// Destroys `erasure`'s key after every erasure submitted before it.
    func submit(_ erasure: RecordedErasure, _ completion: @escaping Completion) {
        queue.async { [ledger] in
            completion(
                Result {
                    try ledger.shredKey(of: erasure)
                    try ledger.finishErasure(erasure)
                    return erasure.result
                }
            )
        }
    }

    /// Waits until every submitted erasure has ended.
    func drain() { queue.sync {} }
}
