internal import CLMDB

/// Wraps a read-only `MDB_txn`, lent to a closure by ``Environment/read(_:)``.
///
/// - Warning: Bytes returned by ``get(_:in:)`` are copies; pointers lent to ``forEach(in:from:_:)``
///   bodies are valid only inside the body.
struct ReadTransaction: ~Copyable {
    let txn: OpaquePointer

    /// Returns a copy of the value stored under `key`, or `nil` when there is none.
    func get(_ key: [UInt8], in table: Table) throws -> [UInt8]? {
        try lmdbGet(txn, key, table)
    }

    /// Walks `table` in key order from the first key ≥ `start` (or the first key), lending each key and
    /// value to `body` until it returns `false`.
    func forEach(
        in table: Table, from start: [UInt8]? = nil,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try lmdbForEach(txn, table, start, reverse: false, body)
    }

    /// Walks `table` backwards from the last key ≤ `start` (or the last key).
    func forEachReversed(
        in table: Table, from start: [UInt8]? = nil,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try lmdbForEach(txn, table, start, reverse: true, body)
    }

    /// The number of entries in `table`.
    func count(of table: Table) throws -> Int { try lmdbCount(txn, table) }
}

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

    /// Returns a copy of the value stored under `key`, or `nil`; sees this transaction's own writes.
    func get(_ key: [UInt8], in table: Table) throws -> [UInt8]? { try lmdbGet(txn, key, table) }

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

    /// Walks `table` in key order; see ``ReadTransaction/forEach(in:from:_:)``.
    func forEach(
        in table: Table, from start: [UInt8]? = nil,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try lmdbForEach(txn, table, start, reverse: false, body)
    }

    /// Walks `table` backwards; see ``ReadTransaction/forEachReversed(in:from:_:)``.
    func forEachReversed(
        in table: Table, from start: [UInt8]? = nil,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try lmdbForEach(txn, table, start, reverse: true, body)
    }

    /// The number of entries in `table`.
    func count(of table: Table) throws -> Int { try lmdbCount(txn, table) }
}

// MARK: - Shared raw calls

private func lmdbGet(_ txn: OpaquePointer, _ key: [UInt8], _ table: Table) throws -> [UInt8]? {
    try withValue(key) { k in
        var v = MDB_val()
        let rc = mdb_get(txn, table.dbi, &k, &v)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_get", environment: mdb_txn_env(txn))
        return Array(v.buffer)
    }
}

private func lmdbCount(_ txn: OpaquePointer, _ table: Table) throws -> Int {
    var stat = MDB_stat()
    try check(mdb_stat(txn, table.dbi, &stat), "mdb_stat", environment: mdb_txn_env(txn))
    return Int(stat.ms_entries)
}

private func lmdbForEach(
    _ txn: OpaquePointer, _ table: Table, _ start: [UInt8]?, reverse: Bool,
    _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
) throws {
    var cursor: OpaquePointer?
    try check(mdb_cursor_open(txn, table.dbi, &cursor), "mdb_cursor_open", environment: mdb_txn_env(txn))
    guard let cursor else { return }
    defer { mdb_cursor_close(cursor) }
    var key = MDB_val()
    var value = MDB_val()
    var rc: Int32
    if let start {
        rc = withValue(start) { k -> Int32 in
            key = k
            return mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE)
        }
        if reverse {
            if rc == MDB_NOTFOUND {
                rc = mdb_cursor_get(cursor, &key, &value, MDB_LAST)
            } else if rc == MDB_SUCCESS, !key.buffer.elementsEqual(start) {
                rc = mdb_cursor_get(cursor, &key, &value, MDB_PREV)
            }
        }
    } else {
        rc = mdb_cursor_get(cursor, &key, &value, reverse ? MDB_LAST : MDB_FIRST)
    }
    let step = reverse ? MDB_PREV : MDB_NEXT
    while rc == MDB_SUCCESS {
        guard try body(key.buffer, value.buffer) else { return }
        rc = mdb_cursor_get(cursor, &key, &value, step)
    }
    if rc != MDB_NOTFOUND { try check(rc, "mdb_cursor_get", environment: mdb_txn_env(txn)) }
}
