extension Ledger {
    /// The bytes of `tile` (C2SP tlog-tiles, ``LogTile``), read in one transaction: a hash tile's
    /// hashes from the Merkle store (level 0: the leaves, `SHA-256(0x00 ‖ event hash)`), an entry
    /// bundle of the events' hashes (the data each leaf hashes), or a bundle of their export
    /// records, each the bytes `ledgerctl export` prints for the event, without the newline; in a
    /// bundle each entry follows its length as a big-endian `uint16`.
    ///
    /// The bytes depend only on the events the tile covers, which never change (an erasure
    /// destroys a key, not an event), so a tile is the same whenever it is read.
    /// - Throws: ``LedgerError`` `not_found` when the log has fewer events than the tile covers.
    public func tileData(_ tile: LogTile) throws -> [UInt8] {
        try storage {
            try events.read { txn in
                let head = try readHead(in: txn).seq
                guard tile.isDetermined(byTreeOf: head) else {
                    throw LedgerError(.notFound, "the log of \(head) events has no tile \(tile.path)")
                }
                switch tile.kind {
                case .entries: return try entryBundle(tile, in: txn)
                case .records: return try recordBundle(tile, in: txn)
                case .hashes(level: 0): return try leafTile(tile, in: txn)
                case .hashes: return try storedHashTile(tile, in: txn)
                }
            }
        }
    }

    /// A tile of level 1 or above: stored nodes of the Merkle tree.
    private func storedHashTile(_ tile: LogTile, in txn: borrowing ReadTransaction) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tile.width * LogTile.hashSize)
        let first = tile.index * UInt64(LogTile.fullWidth)
        for offset in 0..<UInt64(tile.width) {
            bytes += try MerkleStore.node(UInt8(tile.treeLevel), first + offset, in: txn, events: events)
        }
        return bytes
    }

    /// A tile of level 0: the leaf hashes of its events, read in one pass over the log.
    private func leafTile(_ tile: LogTile, in txn: borrowing ReadTransaction) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tile.width * LogTile.hashSize)
        try forEachRecord(of: tile, in: txn) { _, record in
            bytes += MerkleTree.leafHash(Array(record[0..<32]))
        }
        return bytes
    }

    /// An entry bundle: each event's hash after its length (32).
    private func entryBundle(_ tile: LogTile, in txn: borrowing ReadTransaction) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tile.width * (2 + LogTile.hashSize))
        try forEachRecord(of: tile, in: txn) { _, record in
            bytes += [0, UInt8(LogTile.hashSize)]
            bytes += record[0..<LogTile.hashSize]
        }
        return bytes
    }

    /// A bundle of export records: each event's export record after its length.
    private func recordBundle(_ tile: LogTile, in txn: borrowing ReadTransaction) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try forEachRecord(of: tile, in: txn) { seq, record in
            guard let event = StoredEvent(record: record) else {
                throw LedgerError(.ledgerCorrupt, "log record \(seq) cannot be decoded (run `ledgerctl verify`)")
            }
            let entry = Array(event.exportRecord.serialized.utf8)
            guard entry.count <= LogTile.longestEntry else {
                throw LedgerError(
                    .ledgerCorrupt,
                    "the export record of seq \(seq) is \(entry.count) bytes, over the \(LogTile.longestEntry) an entry bundle holds"
                )
            }
            bytes.append(UInt8(entry.count >> 8))
            bytes.append(UInt8(entry.count & 0xFF))
            bytes += entry
        }
        return bytes
    }

    /// Calls `body` with the seq and log record of each event `tile` covers (a level-0 tile or an
    /// entry bundle), in order.
    /// - Warning: The record is valid only inside `body`.
    private func forEachRecord(
        of tile: LogTile,
        in txn: borrowing ReadTransaction,
        _ body: (UInt64, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let first = tile.index * UInt64(LogTile.fullWidth) + 1
        let last = first + UInt64(tile.width) - 1
        var expected = first
        try txn.forEach(in: events.table(EventsSchema.log), from: EventsSchema.seqKey(first)) { key, record in
            guard let seq = EventsSchema.seq(fromKey: key), seq == expected, record.count >= 64 else {
                throw LedgerError(.ledgerCorrupt, "the log has no event \(expected) (run `ledgerctl verify`)")
            }
            try body(seq, record)
            expected += 1
            return seq < last
        }
        guard expected > last else {
            throw LedgerError(.ledgerCorrupt, "the log has no event \(expected) (run `ledgerctl verify`)")
        }
    }
}
