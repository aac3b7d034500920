internal import CLMDB

#if canImport(Glibc)
import Glibc
#endif

/// Wraps a read-write `MDB_txn`. Begun by ``Environment/beginWrite()`` or lent by
/// ``Environment/write(_:)``; aborted by its `deinit` unless committed.
///
/// - Warning: Commit or abort on the thread that began it; never hold one across an `await`.
struct WriteTransaction: ~Copyable {
    let txn: OpaquePointer

    init(txn: OpaquePointer) { self.txn = txn }

    deinit { mdb_txn_abort(txn) }

    /// Commits, fsyncing the data file before it returns.
    /// - Throws: ``LMDBError``; `ENOSPC` also when LMDB reports `EIO` for a write that the full
    ///   filesystem cut short (its pwrite wrote part of the pages: nothing was committed).
    consuming func commit() throws {
        let handle = txn
        discard self
        let environment = mdb_txn_env(handle)
        let rc = mdb_txn_commit(handle)
        if rc == EIO, let environment, Self.fileSystemIsFull(under: environment) {
            throw LMDBError(code: ENOSPC, operation: "mdb_txn_commit", environment: UInt(bitPattern: environment))
        }
        try check(rc, "mdb_txn_commit", environment: environment)
    }

    /// Whether the filesystem holding `environment`'s data file has next to no room left (less
    /// than 1 MiB for unprivileged writers), as after a write that ran out of space.
    private static func fileSystemIsFull(under environment: OpaquePointer) -> Bool {
        var path: UnsafePointer<CChar>?
        guard mdb_env_get_path(environment, &path) == MDB_SUCCESS, let path else { return false }
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return false }
        return Int(stats.f_bavail) * Int(stats.f_frsize) < 1 << 20
    }

    /// Discards every change.
    consuming func abort() {
        let handle = txn
        discard self
        mdb_txn_abort(handle)
    }
}
