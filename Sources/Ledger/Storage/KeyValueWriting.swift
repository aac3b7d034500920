internal import CLMDB

#if canImport(Glibc)
import Glibc
#endif

/// Writing, for the owning ``WriteTransaction`` and for the non-owning ``TransactionWriter`` lent
/// to log observers.
protocol KeyValueWriting: KeyValueReading, ~Copyable {}

extension WriteTransaction: KeyValueWriting {}

/// A non-owning view of a write transaction, lent to a log observer for the duration of a call.
/// Not copyable, so it cannot outlive the borrow it was made under by being copied out.
/// - Warning: Valid only while the owning ``WriteTransaction`` is; never store it.
struct TransactionWriter: KeyValueWriting, ~Copyable {
    let txn: OpaquePointer

    fileprivate init(txn: OpaquePointer) { self.txn = txn }
}

extension WriteTransaction {
    /// A view of this transaction to lend for the duration of a call; this stays its owner.
    func lend() -> TransactionWriter { TransactionWriter(txn: txn) }
}

extension KeyValueWriting where Self: ~Copyable {
    /// Stores `value` under `key`, replacing any value.
    func put(_ value: [UInt8], forKey key: [UInt8], in table: Table) throws {
        try withValue(key) { k in
            try withValue(value) { v in
                try check(mdb_put(txn, table.dbi, &k, &v, 0), "mdb_put", environment: mdb_txn_env(txn))
            }
        }
    }

    /// Stores `value` under `key` only when the key is new; returns `false` when it existed.
    func insert(_ value: [UInt8], forKey key: [UInt8], in table: Table, append: Bool = false) throws -> Bool {
        try withValue(key) { k in
            try withValue(value) { v in
                let flags = UInt32(MDB_NOOVERWRITE) | (append ? UInt32(MDB_APPEND) : 0)
                let rc = mdb_put(txn, table.dbi, &k, &v, flags)
                if rc == MDB_KEYEXIST { return false }
                try check(rc, "mdb_put", environment: mdb_txn_env(txn))
                return true
            }
        }
    }

    /// Stores `value` under `key`, which must sort after every key of `table` (`MDB_APPEND`: no
    /// search, and full pages are left full), straight from the caller's buffers.
    /// - Throws: ``LMDBError`` `MDB_KEYEXIST` when `key` does not sort last.
    func append(_ value: UnsafeRawBufferPointer, forKey key: UnsafeRawBufferPointer, in table: Table) throws {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_put(txn, table.dbi, &k, &v, UInt32(MDB_APPEND)), "mdb_put", environment: mdb_txn_env(txn))
    }

    /// Removes `key`; returns `false` when it was absent.
    @discardableResult
    func delete(_ key: [UInt8], in table: Table) throws -> Bool {
        try withValue(key) { k in
            let rc = mdb_del(txn, table.dbi, &k, nil)
            if rc == MDB_NOTFOUND { return false }
            try check(rc, "mdb_del", environment: mdb_txn_env(txn))
            return true
        }
    }

    /// Deletes a run of neighbouring entries with one cursor — one descent of the tree for the run
    /// instead of one per key: from the first key ≥ `start`, each entry `body` accepts is deleted,
    /// until `body` refuses one or the table ends. `body` sees each entry before its deletion.
    /// - Returns: How many entries were deleted.
    /// - Warning: The buffers are valid only inside `body`.
    @discardableResult
    func removeRun(
        in table: Table,
        from start: [UInt8],
        while body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws -> Int {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, table.dbi, &cursor), "mdb_cursor_open", environment: mdb_txn_env(txn))
        guard let cursor else { return 0 }
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val()
        var value = MDB_val()
        var rc = withValue(start) { k -> Int32 in
            key = k
            return mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE)
        }
        var removed = 0
        while rc == MDB_SUCCESS {
            guard try body(key.buffer, value.buffer) else { return removed }
            try check(mdb_cursor_del(cursor, 0), "mdb_cursor_del", environment: mdb_txn_env(txn))
            removed += 1
            // After a deletion the cursor stands on the entry that followed the deleted one — unless
            // the deletion emptied the table: LMDB then leaves the cursor uninitialised, and
            // MDB_GET_CURRENT answers EINVAL instead of MDB_NOTFOUND.
            rc = mdb_cursor_get(cursor, &key, &value, MDB_GET_CURRENT)
            if rc == EINVAL, try count(of: table) == 0 { rc = MDB_NOTFOUND }
        }
        if rc != MDB_NOTFOUND { try check(rc, "mdb_cursor_get", environment: mdb_txn_env(txn)) }
        return removed
    }

    /// Deletes every entry of `table` (the table itself stays), freeing its pages.
    func removeAll(in table: Table) throws {
        try check(mdb_drop(txn, table.dbi, 0), "mdb_drop", environment: mdb_txn_env(txn))
    }
}
