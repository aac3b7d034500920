internal import CLMDB
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Wraps `MDB_env`: one LMDB environment (a directory holding `data.mdb` and `lock.mdb`) and its
/// named tables.
///
/// Open each environment once per process. Transactions are lent to closures (``read(_:)``,
/// ``write(_:)``) or, where two environments must commit in a chosen order, begun with
/// ``beginWrite()`` inside ``withTransactions(also:_:)``.
///
/// The map starts at ``Configuration/initialMapSize`` and doubles on `MDB_MAP_FULL` up to
/// ``Configuration/mapCeiling`` — by less when the process's address space (`ulimit -v`) leaves
/// less room; when it cannot grow, writes fail with `ledger_full` and nothing is lost. A data
/// file already larger than the initial size is mapped with that much room again as it opens
/// (without an address-space limit), so the first write need not grow it.
final class Environment: @unchecked Sendable {
    // Invariant: every transaction of this process, read or write, holds `gate` shared for its
    // whole life; `handle` and `mapSize` change only under `gate`'s write lock (map growth, or the
    // reopen after a failed growth), so growth never runs beside a transaction. `handle` is `nil`
    // only after a failed growth whose reopen failed too; the next transaction tries again.

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

    /// Address space growth leaves free for the rest of the process (threads, buffers): a map that
    /// took the last of it would only move the failure to the next allocation.
    static let addressSpaceReserve = 64 << 20
    /// The smallest step the map grows by; with less room than this it is full.
    static let minimumGrowth = 1 << 20

    let path: String
    private var handle: OpaquePointer?
    private(set) var tables: [String: Table] = [:]
    private let tableNames: [String]
    private var mapSize: Int
    private let mapCeiling: Int
    private let gate = ReadWriteLock()

    /// Opens (creating if needed) the environment in directory `path` and the named `tables`.
    ///
    /// An existing `data.mdb` is checked first by `pread` (``DataFileCheck``): damaged meta pages,
    /// meta pages naming transactions no commit writes, or a file shorter than its meta page says
    /// (a copy cut short) are refused, since LMDB would trust them and map past the end.
    /// - Throws: ``LMDBError`` when LMDB refuses, ``LedgerError`` `ledger_corrupt` for a damaged or
    ///   truncated file, `io_error` when the directory cannot be made or a symbolic link (or
    ///   anything other than a regular file) is at `data.mdb` or `lock.mdb`.
    init(path: String, tables names: [String], configuration: Configuration) throws {
        self.path = path
        self.tableNames = names
        self.mapCeiling = max(configuration.mapCeiling, configuration.initialMapSize)
        mapSize = configuration.initialMapSize
        try FileManager.default.createDirectory(
            atPath: path,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        try Self.refuseLinkedFiles(in: path)
        // LMDB trusts its file; refuse a damaged or truncated one before it is mapped.
        let file = try DataFileCheck(directory: path)
        try file?.checkTransactions()
        try file?.checkLength()
        let env = try Self.open(path: path, mapSize: mapSize)
        // From here on `deinit` closes the handle, also when this initialiser throws.
        handle = env
        // Another process may have grown the map already: adopt the larger size.
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        mapSize = max(mapSize, info.me_mapsize)
        if configuration.checksPages, let file { try checkPages(of: file) }
        tables = try Self.openTables(names, in: env)
        if mapSize > configuration.initialMapSize { growAtOpen(by: configuration.initialMapSize) }
    }

    deinit { if let handle { mdb_env_close(handle) } }

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

    /// Refuses a symbolic link, or anything other than a regular file, at `data.mdb` or `lock.mdb`
    /// in `path` (``WritableFile/refuseLink(at:name:)``): LMDB opens both by name with
    /// `O_RDWR | O_CREAT`, following a link, and sizes and writes the lock file, so a link planted
    /// there would make it truncate and overwrite, or create, the file the link points to.
    ///
    /// - Warning: LMDB 0.9 takes no descriptor, so this checks the names just before LMDB opens
    ///   them: a link planted in between is not seen. Keep the ledger's directories writable by its
    ///   own user only (they are made with mode 0700).
    private static func refuseLinkedFiles(in path: String) throws {
        for name in ["data.mdb", "lock.mdb"] {
            try WritableFile.refuseLink(at: path + "/" + name, name: "the LMDB file")
        }
    }

    /// Creates and opens an `MDB_env` on `path` with a map of `mapSize` bytes.
    private static func open(path: String, mapSize: Int) throws -> OpaquePointer {
        var env: OpaquePointer?
        try check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw LMDBError(code: ENOMEM, operation: "mdb_env_create", environment: 0) }
        do {
            try check(mdb_env_set_maxdbs(env, 16), "mdb_env_set_maxdbs")
            try check(mdb_env_set_maxreaders(env, 254), "mdb_env_set_maxreaders")
            try check(mdb_env_set_mapsize(env, mapSize), "mdb_env_set_mapsize")
            try check(mdb_env_open(env, path, UInt32(MDB_NOTLS), 0o600), "mdb_env_open")
        } catch {
            mdb_env_close(env)
            throw error
        }
        return env
    }

    /// Opens (creating) the named tables in one write transaction.
    private static func openTables(_ names: [String], in env: OpaquePointer) throws -> [String: Table] {
        var txn: OpaquePointer?
        try check(mdb_txn_begin(env, nil, 0, &txn), "mdb_txn_begin", environment: env)
        guard let txn else { throw LMDBError(code: ENOMEM, operation: "mdb_txn_begin", environment: 0) }
        var opened: [String: Table] = [:]
        for name in names {
            var dbi: MDB_dbi = 0
            let rc = mdb_dbi_open(txn, name, UInt32(MDB_CREATE), &dbi)
            guard rc == MDB_SUCCESS else {
                mdb_txn_abort(txn)
                throw LMDBError(code: rc, operation: "mdb_dbi_open", environment: UInt(bitPattern: env))
            }
            opened[name] = Table(dbi: dbi, name: name)
        }
        try check(mdb_txn_commit(txn), "mdb_txn_commit", environment: env)
        return opened
    }

    /// The table opened under `name` at start-up.
    func table(_ name: String) -> Table {
        guard let table = tables[name] else { preconditionFailure("table \(name) was not opened") }
        return table
    }

    // MARK: Transactions

    /// What a closure run under the gate came to.
    private enum Held<T> {
        case ran(T)
        /// A failed growth left no handle: reopen, then run again.
        case closed
        /// Another process grew the map past this one's: adopt its size, then run again.
        case resized(LMDBError)
    }

    /// Runs `body` in a read-only transaction and returns its result.
    /// - Warning: Copy bytes out before returning; nothing borrowed from LMDB outlives the body.
    func read<T>(_ body: (borrowing ReadTransaction) throws -> T) throws -> T {
        while true {
            let held: Held<T> = try gate.withReadLock {
                guard let env = handle else { return .closed }
                var txn: OpaquePointer?
                let rc = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn)
                if rc == MDB_MAP_RESIZED {
                    return .resized(LMDBError(code: rc, operation: "mdb_txn_begin", environment: UInt(bitPattern: env)))
                }
                try check(rc, "mdb_txn_begin", environment: env)
                guard let txn else { throw LMDBError(code: ENOMEM, operation: "mdb_txn_begin", environment: 0) }
                defer { mdb_txn_abort(txn) }
                return .ran(try body(ReadTransaction(txn: txn)))
            }
            switch held {
            case .ran(let result): return result
            case .closed: try reopenIfClosed()
            case .resized(let error): try adoptOrGrow(after: error)
            }
        }
    }

    /// Runs `body` in a write transaction, commits (durably) when it returns, aborts when it throws.
    ///
    /// On `MDB_MAP_FULL` the map grows and `body` runs again from the start, so `body` must derive
    /// everything it writes from what it reads inside the transaction.
    @discardableResult
    func write<T>(_ body: (borrowing WriteTransaction) throws -> T) throws -> T {
        try withTransactions { try writeOnce(body) }
    }

    /// Runs `attempt` (which may begin write transactions on this and other environments), and on
    /// `MDB_MAP_FULL` or `MDB_MAP_RESIZED` from any of `environments` grows that one and retries.
    /// `attempt` runs holding every one's gate shared, so no map changes under its transactions.
    func withTransactions<T>(also environments: [Environment] = [], _ attempt: () throws -> T) throws -> T {
        let all = [self] + environments
        while true {
            // Each map's size as the attempt begins, read under the gates it runs under.
            var mapSizesSeen: [Int] = []
            do {
                let held = try Self.holdingGates(all[...]) {
                    mapSizesSeen = all.map(\.mapSize)
                    return try attempt()
                }
                switch held {
                case .ran(let result): return result
                case .closed, .resized:
                    for environment in all { try environment.reopenIfClosed() }
                }
            } catch let caught {
                guard let error = LMDBError.mapGrowthSignal(in: caught) else { throw caught }
                let culprit =
                    all.firstIndex { environment in
                        environment.gate.withReadLock { environment.identity == error.environment }
                    } ?? 0
                let seen = mapSizesSeen.indices.contains(culprit) ? mapSizesSeen[culprit] : nil
                try all[culprit].adoptOrGrow(after: error, mapSizeSeen: seen)
            }
        }
    }

    /// Runs `body` holding the gates of `environments` shared, in order; `.closed` when one of
    /// them has no handle.
    private static func holdingGates<T>(
        _ environments: ArraySlice<Environment>,
        _ body: () throws -> T
    ) throws
        -> Held<T>
    {
        guard let first = environments.first else { return .ran(try body()) }
        return try first.gate.withReadLock {
            guard first.handle != nil else { return .closed }
            return try holdingGates(environments.dropFirst(), body)
        }
    }

    /// The handle's identity, as ``LMDBError/environment`` carries it. Call holding the gate.
    private var identity: UInt { handle.map { UInt(bitPattern: $0) } ?? 0 }

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
        guard let env = handle else {
            throw LMDBError(code: MDB_MAP_FULL, operation: "mdb_txn_begin", environment: 0)
        }
        var txn: OpaquePointer?
        try check(mdb_txn_begin(env, parentHandle, 0, &txn), "mdb_txn_begin", environment: env)
        guard let txn else { throw LMDBError(code: ENOMEM, operation: "mdb_txn_begin", environment: 0) }
        return WriteTransaction(txn: txn)
    }

    private func writeOnce<T>(_ body: (borrowing WriteTransaction) throws -> T) throws -> T {
        let txn = try beginWrite()
        let result = try body(txn)
        try txn.commit()
        return result
    }

    // MARK: Map growth

    /// Adopts a map another process grew, or grows the map after `MDB_MAP_FULL`: doubling it, or
    /// by as much as the address space allows (at least ``minimumGrowth``, leaving
    /// ``addressSpaceReserve`` free). Takes the gate exclusively.
    ///
    /// `mapSizeSeen` is the map size when the failed attempt began. When another thread's growth
    /// has already passed it (two writers that each filled the map before either grew it), the map
    /// is not grown again: the attempt runs again on the larger map. Growing twice would double
    /// past need, and near the ceiling would refuse a write `ledger_full` that now fits.
    /// - Throws: `error` at the ceiling; an `ENOMEM` ``LMDBError`` of `mdb_env_set_mapsize` when the
    ///   address space has no room (both are `ledger_full`).
    private func adoptOrGrow(after error: LMDBError, mapSizeSeen: Int? = nil) throws {
        try gate.withWriteLock {
            guard let env = handle else { return try reopen(mapSize: mapSize) }
            if !error.isMapResized, let mapSizeSeen, mapSize > mapSizeSeen { return }
            var info = MDB_envinfo()
            mdb_env_info(env, &info)
            if error.isMapResized {
                try setMapSize(0, of: env, previous: max(mapSize, info.me_mapsize))
                return
            }
            let current = max(mapSize, info.me_mapsize)
            guard current < mapCeiling else { throw error }
            guard let grown = nextSize(after: current) else {
                throw LMDBError(code: ENOMEM, operation: "mdb_env_set_mapsize", environment: UInt(bitPattern: env))
            }
            try setMapSize(grown, of: env, previous: current)
        }
    }

    /// Grows a map that LMDB opened exactly as large as the data in it (a data file larger than
    /// the configured initial size is mapped to its data's end, with no room to write), as the
    /// first write would on `MDB_MAP_FULL`, but before anything runs in it: that write ran its
    /// whole transaction a second time after the growth (an import at a million subjects wrote
    /// its first chunk twice, and again for the key store). By at most `initial` (the room a new
    /// environment starts with) and at most double, so a read-only process maps little more.
    ///
    /// Best effort: at the ceiling the map stays as opened, and under an address-space limit
    /// (`ulimit -v`) it is not grown at all, so the room stays for the environments opened after
    /// this one; a write grows it when it needs to, as before.
    private func growAtOpen(by initial: Int) {
        guard !Self.addressSpaceIsLimited else { return }
        gate.withWriteLock {
            guard let env = handle, let grown = nextSize(after: mapSize) else { return }
            try? setMapSize(min(grown, mapSize + initial), of: env, previous: mapSize)
        }
    }

    /// Whether the process runs under an address-space limit (`RLIMIT_AS`, `ulimit -v`).
    private static var addressSpaceIsLimited: Bool {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0 else { return true }
        return limit.rlim_cur != rlim_t.max  // RLIM_INFINITY
    }

    /// The size a map of `current` bytes grows to: double, up to the ceiling, or as much as the
    /// address space allows; `nil` at the ceiling or when less than ``minimumGrowth`` fits.
    private func nextSize(after current: Int) -> Int? {
        guard current < mapCeiling else { return nil }
        var grown = min(mapCeiling, current * 2)
        while !Self.canReserve(grown - current + Self.addressSpaceReserve) {
            let smaller = current + (grown - current) / 2
            guard smaller - current >= Self.minimumGrowth else { return nil }
            grown = smaller
        }
        return grown
    }

    /// `mdb_env_set_mapsize`, and the way back when it fails: LMDB has then unmapped the file and
    /// keeps no map, so any further transaction on the handle would touch unmapped memory. The
    /// handle is closed and the environment opened again at `previous`, the size mapped a moment
    /// ago. Call holding the gate exclusively.
    private func setMapSize(_ size: Int, of env: OpaquePointer, previous: Int) throws {
        let rc = mdb_env_set_mapsize(env, size)
        guard rc != MDB_SUCCESS else {
            var info = MDB_envinfo()
            mdb_env_info(env, &info)
            mapSize = info.me_mapsize
            return
        }
        mdb_env_close(env)
        handle = nil
        mapSize = previous
        try? reopen(mapSize: previous)
        throw LMDBError(code: rc, operation: "mdb_env_set_mapsize", environment: UInt(bitPattern: env))
    }

    /// Opens the environment again after a failed growth closed it. Takes the gate exclusively.
    private func reopenIfClosed() throws {
        try gate.withWriteLock { if handle == nil { try reopen(mapSize: mapSize) } }
    }

    /// Opens the closed environment at `size`, with its tables under the same handles. Call holding
    /// the gate exclusively.
    private func reopen(mapSize size: Int) throws {
        guard handle == nil else { return }
        try Self.refuseLinkedFiles(in: path)
        let env = try Self.open(path: path, mapSize: size)
        do {
            let reopened = try Self.openTables(tableNames, in: env)
            guard reopened.allSatisfy({ tables[$0.key]?.dbi == $0.value.dbi }) else {
                throw LMDBError(code: MDB_INVALID, operation: "mdb_dbi_open", environment: UInt(bitPattern: env))
            }
        } catch {
            mdb_env_close(env)
            throw error
        }
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        mapSize = info.me_mapsize
        handle = env
    }

    /// Whether `bytes` more address space can be mapped now (`ulimit -v` is the usual limit): maps
    /// that much, inaccessible and unbacked, and gives it back at once.
    private static func canReserve(_ bytes: Int) -> Bool {
        guard let probe = mmap(nil, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
            probe != UnsafeMutableRawPointer(bitPattern: -1)
        else { return false }
        munmap(probe, bytes)
        return true
    }

    // MARK: Maintenance

    /// Writes a compacted copy (only live pages; freed pages are not copied) into the empty
    /// directory `directory`, as `data.mdb`.
    ///
    /// Branch pages are copied as they are, so a deleted key may survive as a separator: use it
    /// only for an environment from which nothing personal is ever deleted (the log), and
    /// ``copyRebuilt(to:configuration:entriesPerCommit:)`` for the key store.
    func copyCompacted(to directory: String) throws {
        try gate.withReadLock {
            guard let env = handle else {
                throw LMDBError(code: MDB_MAP_FULL, operation: "mdb_env_copy2", environment: 0)
            }
            try check(mdb_env_copy2(env, directory, UInt32(MDB_CP_COMPACT)), "mdb_env_copy2", environment: env)
        }
    }

    /// Writes every entry of every table, in key order, into a new environment in the empty
    /// directory `directory` (appending, `entriesPerCommit` to a commit), for a copy that must
    /// keep nothing but live entries (the key store's compaction after an erasure).
    ///
    /// Why not LMDB's compacting copy: it copies branch pages as they are, and LMDB does not
    /// rewrite a branch page's separator when the key it was taken from is deleted, so a deleted
    /// key survived as a separator (found by `ledger-bench --erasure`'s byte scan: an erased
    /// subject's lookup hash). Here every separator is made from a live key, and the pages the
    /// appends free hold only live entries.
    ///
    /// Leaves `data.mdb` alone in `directory`, as LMDB's copy does (the copy's `lock.mdb` is removed).
    ///
    /// Each commit flushes what it wrote, so `entriesPerCommit` bounds how much of the copy an
    /// appender's flush, beside it, can find itself waiting for: at a million subjects, 8,000 (about
    /// 1.3 MB) kept appends beside an erasure at p99 10–12 ms against 11–17 ms with 50,000, for an
    /// erasure about a sixth slower (docs/BENCHMARKS.md).
    func copyRebuilt(to directory: String, configuration: Configuration, entriesPerCommit: Int = 8_000) throws {
        try writeRebuilt(to: directory, configuration: configuration, entriesPerCommit: entriesPerCommit)
        // The copy's handle is closed once `writeRebuilt` returns; nothing else has it open.
        unlink(directory + "/lock.mdb")
    }

    private func writeRebuilt(to directory: String, configuration: Configuration, entriesPerCommit: Int) throws {
        let copy = try Environment(path: directory, tables: tableNames, configuration: configuration)
        try read { source in
            for name in tableNames {
                let table = self.table(name)
                let target = copy.table(name)
                // Entries go from the read transaction's pages straight into the copy; each commit
                // resumes at the key the one before stopped at. (An array per entry made the copy
                // of a million subjects spend most of its time allocating and freeing.)
                var resume: [UInt8]?
                repeat {
                    resume = try copy.write { txn -> [UInt8]? in
                        var written = 0
                        var stoppedAt: [UInt8]?
                        try source.forEach(in: table, from: resume) { key, value in
                            guard written < entriesPerCommit else {
                                stoppedAt = Array(key)
                                return false
                            }
                            try txn.append(value, forKey: key, in: target)
                            written += 1
                            return true
                        }
                        return stoppedAt
                    }
                } while resume != nil
            }
        }
    }

    /// The environment's current map size and the bytes its used pages occupy.
    func usage() -> (mapSize: Int, usedBytes: Int) {
        gate.withReadLock {
            guard let env = handle else { return (mapSize, 0) }
            var info = MDB_envinfo()
            var stat = MDB_stat()
            mdb_env_info(env, &info)
            mdb_env_stat(env, &stat)
            return (info.me_mapsize, (info.me_last_pgno + 1) * Int(stat.ms_psize))
        }
    }
}
