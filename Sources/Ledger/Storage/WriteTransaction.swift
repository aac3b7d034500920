internal import CLMDB

/// Wraps a read-write `MDB_txn`. Begun by ``Environment/beginWrite()`` or lent by
/// ``Environment/write(_:)``; aborted by its `deinit` unless committed.
///
/// - Warning: Commit or abort on the thread that began it; never hold one across an `await`.
struct WriteTransaction: ~Copyable {
    let txn: OpaquePointer

    init(txn: OpaquePointer) { self.txn = txn }

    deinit { mdb_txn_abort(txn) }

    /// Commits, fsyncing the data file before it returns.
    consuming func commit() throws {
        let handle = txn
        discard self
        try check(mdb_txn_commit(handle), "mdb_txn_commit", environment: mdb_txn_env(handle))
    }

    /// Discards every change.
    consuming func abort() {
        let handle = txn
        discard self
        mdb_txn_abort(handle)
    }

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

    /// Deletes every entry of `table` (the table itself stays), freeing its pages.
    func removeAll(in table: Table) throws {
        try check(mdb_drop(txn, table.dbi, 0), "mdb_drop", environment: mdb_txn_env(txn))
    }
}
