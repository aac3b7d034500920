import Crypto

/// Unwrapped subject keys kept in memory between appends, so a subject seen recently costs no
/// AES-GCM unwrap. Bounded; emptied when full.
///
/// Soundness: the append path uses a cached key only for a pseudonym it has just found in the key
/// store's lookup table inside its own write transaction, and an erasure deletes the lookup entry
/// in a write transaction of the key store, so no cached key is ever used for an erased subject —
/// even one erased by another process. This process's erasures also evict the entry.
final class SubjectKeyCache: Sendable {
    static let capacity = 65_536
    private let entries = Locked<[Pseudonym: SymmetricKey]>([:])

    func keys(for pseudonym: Pseudonym) -> SymmetricKey? { entries.withLock { $0[pseudonym] } }

    func store(_ new: [(Pseudonym, SymmetricKey)]) {
        entries.withLock { table in
            if table.count + new.count > Self.capacity { table.removeAll(keepingCapacity: true) }
            for (pseudonym, keys) in new { table[pseudonym] = keys }
        }
    }

    func evict(_ pseudonym: [UInt8]) {
        guard let key = Pseudonym(pseudonym) else { return }
        _ = entries.withLock { $0.removeValue(forKey: key) }
    }
}
