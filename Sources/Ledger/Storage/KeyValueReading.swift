internal import CLMDB

/// What both transaction kinds offer for reading, so code that only reads works inside either.
/// A write transaction's reads see its own writes.
protocol KeyValueReading: ~Copyable {
    /// The `MDB_txn` handle, valid while the transaction is.
    var txn: OpaquePointer { get }
}

extension ReadTransaction: KeyValueReading {}
extension WriteTransaction: KeyValueReading {}

extension KeyValueReading where Self: ~Copyable {
    /// Returns a copy of the value stored under `key`, or `nil` when there is none.
    func get(_ key: [UInt8], in table: Table) throws -> [UInt8]? {
        try withValue(key) { k in
            var v = MDB_val()
            let rc = mdb_get(txn, table.dbi, &k, &v)
            if rc == MDB_NOTFOUND { return nil }
            try check(rc, "mdb_get", environment: mdb_txn_env(txn))
            return Array(v.buffer)
        }
    }

    /// Walks `table` in key order from the first key ≥ `start` (or the first key), lending each key
    /// and value to `body` until it returns `false`.
    /// - Warning: The buffers are valid only inside `body`.
    func forEach(
        in table: Table,
        from start: [UInt8]? = nil,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try walk(txn, table, start, reverse: false, body)
    }

    /// Walks `table` backwards from the last key ≤ `start` (or the last key).
    /// - Warning: The buffers are valid only inside `body`.
    func forEachReversed(
        in table: Table,
        from start: [UInt8]? = nil,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try walk(txn, table, start, reverse: true, body)
    }

    /// The number of entries in `table`.
    func count(of table: Table) throws -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(txn, table.dbi, &stat), "mdb_stat", environment: mdb_txn_env(txn))
        return Int(stat.ms_entries)
    }
}
