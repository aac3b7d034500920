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
}
