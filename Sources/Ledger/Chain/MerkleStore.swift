/// The stored nodes of the ledger's Merkle tree (``MerkleTree``), kept in step with the log inside
/// every append's write transaction. Leaves are not stored: leaf *i* is `SHA-256(0x00 ‖ hash of
/// seq i+1)` and the log holds that hash, so only the levels above are (half the writes).
enum MerkleStore {
    /// A node's key: the index of the last leaf it covers, then its level. The nodes an append
    /// completes all end at the new leaf, so they sit side by side at the end of the table and a
    /// commit round dirties one or two pages of it, not one page per level.
    static func key(_ level: UInt8, _ index: UInt64) -> [UInt8] {
        EventsSchema.seqKey(((index + 1) << UInt64(level)) &- 1) + [level]
    }

    /// Adds event `seq` (hash `eventHash`, after the event with hash `previousHash`) to the tree:
    /// one write per perfect subtree it completes, none for half the events (O(1) amortised).
    static func append(
        eventHash: [UInt8],
        previousHash: [UInt8],
        seq: UInt64,
        in txn: borrowing some KeyValueWriting & ~Copyable,
        events: Environment
    ) throws {
        let table = events.table(EventsSchema.merkle)
        var index = seq - 1
        guard index & 1 == 1 else { return }
        var hash = MerkleTree.nodeHash(MerkleTree.leafHash(previousHash), MerkleTree.leafHash(eventHash))
        index >>= 1
        var level: UInt8 = 1
        try txn.put(hash, forKey: key(level, index), in: table)
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
    static func setSize(_ size: UInt64, in txn: borrowing some KeyValueWriting & ~Copyable, events: Environment) throws
    {
        try txn.put(
            EventsSchema.seqKey(size),
            forKey: EventsSchema.MetaKey.merkleSize,
            in: events.table(EventsSchema.meta)
        )
    }

    static func size(in txn: borrowing some KeyValueReading & ~Copyable, events: Environment) throws -> UInt64 {
        try txn.get(EventsSchema.MetaKey.merkleSize, in: events.table(EventsSchema.meta))
            .flatMap { raw in raw.withUnsafeBytes { EventsSchema.seq(fromKey: $0) } } ?? 0
    }

    /// The hash of the perfect subtree `level`/`index`: a leaf from the log, a higher node as stored.
    static func node(
        _ level: UInt8,
        _ index: UInt64,
        in txn: borrowing some KeyValueReading & ~Copyable,
        events: Environment
    ) throws
        -> [UInt8]
    {
        if level == 0 {
            guard let record = try txn.get(EventsSchema.seqKey(index + 1), in: events.table(EventsSchema.log)),
                record.count >= 32
            else { throw LedgerError(.ledgerCorrupt, "the log has no event \(index + 1) for the Merkle tree") }
            return MerkleTree.leafHash(Array(record[0..<32]))
        }
        guard let hash = try txn.get(key(level, index), in: events.table(EventsSchema.merkle)) else {
            throw LedgerError(.ledgerCorrupt, "the Merkle tree has no node \(level)/\(index)")
        }
        return hash
    }
}
