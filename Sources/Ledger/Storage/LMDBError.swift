internal import CLMDB

#if canImport(Glibc)
import Glibc
#endif

/// An LMDB return code that is not success, with the operation that produced it.
///
/// Lives only inside the storage layer and the ledger's retry loops; public API converts it to a
/// ``LedgerError`` with ``LedgerError/init(storage:)``.
struct LMDBError: Error, Sendable, CustomStringConvertible {
    /// LMDB's (or the system's) error number.
    let code: Int32
    /// The `mdb_*` call that failed.
    let operation: StaticString
    /// The environment the failing call worked on (identity only), when known.
    let environment: UInt

    var isMapFull: Bool { code == MDB_MAP_FULL }
    /// The filesystem under the environment has no room: ENOSPC or EDQUOT, or the EIO LMDB reports
    /// for a short write, which a nearly full filesystem explains (see ``WriteTransaction/commit()``).
    var isDiskFull: Bool { code == ENOSPC || code == EDQUOT }
    /// The map could not be made larger: the address space (`ulimit -v`) has no room for it.
    var isMapUnavailable: Bool {
        let name = "\(operation)"
        return code == ENOMEM && (name == "mdb_env_set_mapsize" || name == "mdb_env_open")
    }
    var isMapResized: Bool { code == MDB_MAP_RESIZED }

    /// The LMDB error that asks for the map to grow (`MDB_MAP_FULL`) or to be adopted
    /// (`MDB_MAP_RESIZED`) inside `error`: the error itself, or the cause of a ``LedgerError``
    /// that code run inside a transaction (a snapshot observer, say) converted it to. The retry
    /// loops of ``Environment/withTransactions(also:_:)`` grow on either form; a converted one
    /// that escaped them was reported `ledger_full` with room to spare.
    static func mapGrowthSignal(in error: any Error) -> LMDBError? {
        let lmdb = error as? LMDBError ?? ((error as? LedgerError)?.cause as? LMDBError)
        guard let lmdb, lmdb.isMapFull || lmdb.isMapResized else { return nil }
        return lmdb
    }

    /// LMDB's own text for the code.
    var text: String { String(cString: mdb_strerror(code)) }

    var description: String { "\(operation): \(text) (\(code))" }
}

/// Puts every LMDB return code through one place.
///
/// A code that can only come from a bug in this layer (a bad table handle) stops the process, as
/// NIO does for unacceptable errnos; every other code becomes ``LMDBError``. `MDB_BAD_TXN` is not
/// such a code: LMDB also marks a transaction failed when a damaged page stops its own walk and
/// then answers the transaction's next call with it (seen with a flipped byte in a table record:
/// `mdb_cursor_init` ignores the failed root lookup of a stale table), so it is a storage error.
@inline(__always)
func check(_ rc: Int32, _ operation: StaticString, environment: OpaquePointer? = nil) throws {
    guard rc != MDB_SUCCESS else { return }
    if rc == MDB_BAD_DBI {
        preconditionFailure("LMDB misuse in \(operation): \(String(cString: mdb_strerror(rc)))")
    }
    throw LMDBError(code: rc, operation: operation, environment: environment.map { UInt(bitPattern: $0) } ?? 0)
}

extension LedgerError {
    /// Converts a storage error into the ledger's error, keeping LMDB's code and text.
    init(storage error: LMDBError) {
        let code: Code
        switch error.code {
        case _ where error.isDiskFull || error.isMapUnavailable: code = .ledgerFull
        case MDB_MAP_FULL: code = .ledgerFull
        case MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID, MDB_VERSION_MISMATCH, MDB_BAD_RSLOT, MDB_BAD_TXN:
            code = .ledgerCorrupt
        case MDB_READERS_FULL, EAGAIN, EBUSY: code = .ledgerLocked
        case EACCES, EROFS: code = .ioError
        default: code = .ioError
        }
        let message: String
        if error.isDiskFull {
            message = "the filesystem holding the ledger is full; nothing was appended (\(error.text))"
        } else if error.isMapUnavailable {
            message = "the ledger's map cannot grow: no address space is left for it; nothing was appended"
        } else if code == .ledgerFull {
            message = "the ledger reached its configured size ceiling; nothing was appended (\(error.text))"
        } else {
            message = "storage failure in \(error.operation): \(error.text) (LMDB code \(error.code))"
        }
        self.init(code, message, cause: error)
    }
}
