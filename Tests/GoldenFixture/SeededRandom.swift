import Crypto
import Foundation
import Ledger

/// A deterministic random source for tests and fixtures: SHA-256 of a seed and a counter, so the
/// keys, nonces and event ids a ledger draws from it are the same in every run (the golden
/// fixture's log is the same byte for byte).
public final class SeededRandom: RandomSource, @unchecked Sendable {
    // Invariant: `counter` and `pool` are only touched under `lock`.
    private let seed: [UInt8]
    private var counter: UInt64 = 0
    private var pool: [UInt8] = []
    private let lock = NSLock()

    /// A source whose bytes follow from `seed` alone.
    public init(seed: String) { self.seed = Array(seed.utf8) }

    /// The next `count` bytes of the sequence.
    public func bytes(_ count: Int) -> [UInt8] {
        lock.withLock {
            while pool.count < count {
                var hasher = SHA256()
                hasher.update(data: seed)
                withUnsafeBytes(of: counter.bigEndian) { hasher.update(bufferPointer: $0) }
                counter += 1
                pool += Array(hasher.finalize())
            }
            let out = Array(pool.prefix(count))
            pool.removeFirst(count)
            return out
        }
    }
}
