internal import CLMDB
import Foundation

/// Wraps `MDB_env`: one LMDB environment (a directory holding `data.mdb` and `lock.mdb`) and its
/// named tables.
///
/// Open each environment once per process. Transactions are lent to closures (``read(_:)``,
/// ``write(_:)``) or, where two environments must commit in a chosen order, begun with
/// ``beginWrite()`` inside ``withTransactions(_:)``.
///
/// The map starts at ``Configuration/initialMapSize`` and doubles on `MDB_MAP_FULL` up to
/// ``Configuration/mapCeiling``; past it writes fail with `ledger_full` and nothing is lost.
final class Environment: @unchecked Sendable {
    // Invariant: `handle` is valid from init to deinit; LMDB serialises writers itself, and
    // `gate` keeps map growth (which needs no open transaction in this process) apart from every
    // transaction. `mapSize` is only changed under the gate's write lock.

    /// Size limits of one environment.
    struct Configuration: Sendable {
        /// The map size an environment starts with (virtual; the file grows as used).
        var initialMapSize: Int
        /// The largest map size growth may reach; beyond it appends fail with `ledger_full`.
        var mapCeiling: Int
        /// Whether opening checks every page of `data.mdb` by `pread` (``DataFileCheck``) before
        /// anything reads it through the map; O(file size). The meta pages and the file's length
        /// are always checked.
        var checksPages = false
    }

    let handle: OpaquePointer
    let path: String
    private(set) var tables: [String: Table] = [:]
    private var mapSize: Int
    private let mapCeiling: Int
    private let gate = ReadWriteLock()

    /// Opens (creating if needed) the environment in directory `path` and the named `tables`.
    ///
    /// An existing `data.mdb` is checked first by `pread`: a damaged meta page or a file shorter
    /// than its meta page says (a copy cut short) is refused, since LMDB would map past its end.
    /// - Throws: ``LMDBError`` when LMDB refuses, ``LedgerError`` `ledger_corrupt` for a damaged or
    ///   truncated file, `io_error` when the directory cannot be made.
    init(path: String, tables names: [String], configuration: Configuration) throws {
        self.path = path
        self.mapCeiling = max(configuration.mapCeiling, configuration.initialMapSize)
        var env: OpaquePointer?
        try check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw LMDBError(code: ENOMEM, operation: "mdb_env_create", environment: 0) }
        handle = env
        mapSize = configuration.initialMapSize
        // From here on `deinit` closes the handle, also when this initialiser throws.
        do {
            try FileManager.default.createDirectory(
                atPath: path,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
            let file = try DataFileCheck(directory: path)
            try file?.checkLength()
            try check(mdb_env_set_maxdbs(env, 16), "mdb_env_set_maxdbs")
            try check(mdb_env_set_maxreaders(env, 254), "mdb_env_set_maxreaders")
            try check(mdb_env_set_mapsize(env, mapSize), "mdb_env_set_mapsize")
            try check(mdb_env_open(env, path, UInt32(MDB_NOTLS), 0o600), "mdb_env_open")
            // Another process may have grown the map already: adopt the larger size.
            var info = MDB_envinfo()
            mdb_env_info(env, &info)
            mapSize = max(mapSize, info.me_mapsize)
            if configuration.checksPages, let file { try checkPages(of: file) }
            var opened: [String: Table] = [:]
            try writeOnce { txn in
                for name in names {
                    var dbi: MDB_dbi = 0
                    try check(mdb_dbi_open(txn.txn, name, UInt32(MDB_CREATE), &dbi), "mdb_dbi_open")
                    opened[name] = Table(dbi: dbi, name: name)
                }
            }
            tables = opened
        }
    }

    deinit { mdb_env_close(handle) }

    /// Runs ``DataFileCheck/checkPages(of:)`` on the snapshot of a read transaction held open for
    /// the whole walk, so no other process's writer reuses a page the walk reads.
    private func checkPages(of file: DataFileCheck) throws {
        for _ in 0..<100 {
            let checked: Bool = try read { txn in
                let id = UInt64(mdb_txn_id(txn.txn))
                let metas = try file.metas()
                // Two commits since the transaction began overwrote its meta page: try again.
                guard let meta = metas.first(where: { $0.txnid == id }) else { return false }
                do {
                    try file.checkPages(of: meta)
                } catch {
                    // A meta page read while a writer rewrote it reads torn: try again.
                    if (try? file.metas()) != metas { return false }
                    throw error
                }
                return true
            }
            if checked { return }
        }
        throw LedgerError(
            .ledgerLocked,
            "\((path as NSString).lastPathComponent)/data.mdb changed too fast to be checked; try again"
        )
    }

    /// The table opened under `name` at start-up.
    func table(_ name: String) -> Table {
        guard let table = tables[name] else { preconditionFailure("table \(name) was not opened") }
        return table
    }

    // MARK: Transactions

    /// Runs `body` in a read-only transaction and returns its result.
    /// - Warning: Copy bytes out before returning; nothing borrowed from LMDB outlives the body.
    func read<T>(_ body: (borrowing ReadTransaction) throws -> T) throws -> T {
        try gate.withReadLock {
            var txn: OpaquePointer?
            var rc = mdb_txn_begin(handle, nil, UInt32(MDB_RDONLY), &txn)
            if rc == MDB_MAP_RESIZED {
                mdb_env_set_mapsize(handle, 0)
                rc = mdb_txn_begin(handle, nil, UInt32(MDB_RDONLY), &txn)
            }
            try check(rc, "mdb_txn_begin", environment: handle)
            guard let txn else { throw LMDBError(code: ENOMEM, operation: "mdb_txn_begin", environment: 0) }
            defer { mdb_txn_abort(txn) }
            return try body(ReadTransaction(txn: txn))
        }
    }

    /// Runs `body` in a write transaction, commits (durably) when it returns, aborts when it throws.
    ///
    /// On `MDB_MAP_FULL` the map grows and `body` runs again from the start, so `body` must derive
    /// everything it writes from what it reads inside the transaction.
    func write<T>(_ body: (borrowing WriteTransaction) throws -> T) throws -> T {
        try withTransactions { try writeOnce(body) }
    }

    /// Runs `attempt` (which may begin write transactions on this and other environments), and on
    /// `MDB_MAP_FULL` or `MDB_MAP_RESIZED` from any of `environments` grows that one and retries.
    func withTransactions<T>(also environments: [Environment] = [], _ attempt: () throws -> T) throws -> T {
        let all = [self] + environments
        while true {
            do {
                return try attempt()
            } catch let error as LMDBError where error.isMapFull || error.isMapResized {
                let culprit = all.first { UInt(bitPattern: $0.handle) == error.environment } ?? self
                try culprit.adoptOrGrow(after: error)
            }
        }
    }

    /// Begins a write transaction; the caller commits or aborts it on this thread.
    /// - Warning: Call only inside ``withTransactions(also:_:)`` so map growth can retry.
    func beginWrite() throws -> WriteTransaction {
        try beginWrite(parentHandle: nil)
    }

    /// Begins a write transaction nested in `parent`, so it can be aborted alone; committing it
    /// merges its changes into `parent`.
    /// - Warning: Use `parent` for nothing else while the child is open.
    func beginWrite(parent: borrowing WriteTransaction) throws -> WriteTransaction {
        try beginWrite(parentHandle: parent.txn)
    }

    private func beginWrite(parentHandle: OpaquePointer?) throws -> WriteTransaction {
        var txn: OpaquePointer?
        try check(mdb_txn_begin(handle, parentHandle, 0, &txn), "mdb_txn_begin", environment: handle)
        guard let txn else { throw LMDBError(code: ENOMEM, operation: "mdb_txn_begin", environment: 0) }
        return WriteTransaction(txn: txn)
    }

    private func writeOnce<T>(_ body: (borrowing WriteTransaction) throws -> T) throws -> T {
        let txn = try beginWrite()
        let result = try body(txn)
        try txn.commit()
        return result
    }

    private func adoptOrGrow(after error: LMDBError) throws {
        try gate.withWriteLock {
            var info = MDB_envinfo()
            mdb_env_info(handle, &info)
            if error.isMapResized {
                try check(mdb_env_set_mapsize(handle, 0), "mdb_env_set_mapsize", environment: handle)
                mdb_env_info(handle, &info)
                mapSize = info.me_mapsize
                return
            }
            let current = max(mapSize, info.me_mapsize)
            guard current < mapCeiling else { throw error }
            let grown = min(mapCeiling, current * 2)
            try check(mdb_env_set_mapsize(handle, grown), "mdb_env_set_mapsize", environment: handle)
            mapSize = grown
        }
    }

    // MARK: Maintenance

    /// Writes a compacted copy (only live pages; freed pages are not copied) into the empty
    /// directory `directory`, as `data.mdb`.
    func copyCompacted(to directory: String) throws {
        try gate.withReadLock {
            try check(mdb_env_copy2(handle, directory, UInt32(MDB_CP_COMPACT)), "mdb_env_copy2", environment: handle)
        }
    }

    /// The environment's current map size and the bytes its used pages occupy.
    func usage() -> (mapSize: Int, usedBytes: Int) {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        mdb_env_info(handle, &info)
        mdb_env_stat(handle, &stat)
        return (info.me_mapsize, (info.me_last_pgno + 1) * Int(stat.ms_psize))
    }
}
