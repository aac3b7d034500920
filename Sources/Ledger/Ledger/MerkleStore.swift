/// The stored nodes of the ledger's Merkle tree (``MerkleTree``), kept in step with the log inside
/// every append's write transaction.
enum MerkleStore {
    static func key(_ level: UInt8, _ index: UInt64) -> [UInt8] { [level] + EventsSchema.seqKey(index) }

    /// Adds the leaf of event `seq` (whose hash is `eventHash`) and every perfect subtree it
    /// completes: one write, plus one per completed level (O(1) amortised).
    static func append(eventHash: [UInt8], seq: UInt64, in txn: borrowing some KeyValueWriting & ~Copyable, events: Environment) throws {
        let table = events.table(EventsSchema.merkle)
        var index = seq - 1
        var level: UInt8 = 0
        var hash = MerkleTree.leafHash(eventHash)
        try txn.put(hash, forKey: key(0, index), in: table)
        while index & 1 == 1 {
            guard let left = try txn.get(key(level, index - 1), in: table) else {
                throw LedgerError(.ledgerCorrupt, "the Merkle tree is missing a node below seq \(seq)")
            }
            hash = MerkleTree.nodeHash(left, hash)
            index >>= 1
            level += 1
            try txn.put(hash, forKey: key(level, index), in: table)
        }
    }

    /// Records that the tree covers the first `size` events.
    static func setSize(_ size: UInt64, in txn: borrowing some KeyValueWriting & ~Copyable, events: Environment) throws {
        try txn.put(EventsSchema.seqKey(size), forKey: EventsSchema.MetaKey.merkleSize, in: events.table(EventsSchema.meta))
    }

    static func size(in txn: borrowing some KeyValueReading & ~Copyable, events: Environment) throws -> UInt64 {
        try txn.get(EventsSchema.MetaKey.merkleSize, in: events.table(EventsSchema.meta))
            .flatMap { raw in raw.withUnsafeBytes { EventsSchema.seq(fromKey: $0) } } ?? 0
    }

    /// The stored hash of the perfect subtree `level`/`index`.
    static func node(_ level: UInt8, _ index: UInt64, in txn: borrowing some KeyValueReading & ~Copyable, events: Environment) throws
        -> [UInt8]
    {
        guard let hash = try txn.get(key(level, index), in: events.table(EventsSchema.merkle)) else {
            throw LedgerError(.ledgerCorrupt, "the Merkle tree has no node \(level)/\(index)")
        }
        return hash
    }
}
