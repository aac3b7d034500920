import Foundation

/// An advisory lock on a lock file, held shared by every process that has an environment open
/// and taken exclusively by an operation that replaces the environment's data file.
///
/// Hand-written on Linux's open-file-description locks (`F_OFD_SETLK`), not `flock`: turning a
/// shared `flock` into an exclusive one is not atomic — a refused `LOCK_EX | LOCK_NB` has already
/// dropped the shared lock — so a compaction that waited for others ran on without any lock, and
/// a second one could replace the file under it. That lost acknowledged subjects' keys. An OFD
/// lock changes mode atomically: a refused upgrade keeps the shared lock. Like `flock` (and
/// unlike classic POSIX record locks) it belongs to the open file, not the process, and closing
/// another descriptor of the same file does not release it.
final class FileLock: @unchecked Sendable {
    // Invariant: `descriptor` is open from init to deinit; fcntl calls on it are thread-safe and
    // callers serialise mode changes (the key store: one compaction run at a time).
    private let descriptor: Int32
    let path: String

    /// `F_OFD_SETLK` and `F_OFD_SETLKW` from Linux's `<fcntl.h>` (since 3.15), which Glibc
    /// exposes only under `_GNU_SOURCE`.
    private static let setLock: Int32 = 37
    private static let setLockWaiting: Int32 = 38

    /// Opens (creating) the lock file and takes it shared, waiting while another process holds it
    /// exclusively (a compaction in progress).
    init(path: String) throws {
        self.path = path
        descriptor = try Self.openLockFile(path)
        guard Self.lock(descriptor, type: F_RDLCK, waiting: true) else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw LedgerError(.ledgerLocked, "cannot lock \(path): \(reason)")
        }
    }

    /// Opens (creating) the lock file and takes it exclusively, retrying for up to `seconds`; for a
    /// lock only one process at a time holds (a key-store compaction run). Released by `deinit`.
    /// - Throws: ``LedgerError`` `ledger_locked` when another process held it all that time.
    init(exclusive path: String, waitingUpTo seconds: Double) throws {
        self.path = path
        descriptor = try Self.openLockFile(path)
        let deadline = Date().addingTimeInterval(seconds)
        while !Self.lock(descriptor, type: F_WRLCK, waiting: false) {
            guard Date() < deadline else {
                close(descriptor)
                throw LedgerError(.ledgerLocked, "another process holds \(path)")
            }
            usleep(20_000)
        }
    }

    deinit { close(descriptor) }

    /// Opens (creating, never truncating) the regular file at `path` for locking. A symbolic link
    /// there is refused, never followed (``WritableFile``): a link planted at a lock's name (beside
    /// the ledger, which another user may be able to write) would otherwise make this process open,
    /// or create, the file it points to.
    /// - Throws: ``LedgerError`` `io_error` naming the path when it is a link or not a regular
    ///   file, or cannot be opened.
    private static func openLockFile(_ path: String) throws -> Int32 {
        try WritableFile.open(path, .openOrCreate, access: O_RDWR, name: "the lock file")
    }

    /// Tries to turn the shared lock into an exclusive one, retrying for up to `seconds`. The
    /// shared lock is kept all the while, also when the upgrade fails.
    /// - Returns: `false` when another process kept its shared lock all that time.
    func upgrade(waitingUpTo seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if Self.lock(descriptor, type: F_WRLCK, waiting: false) { return true }
            if Date() >= deadline { return false }
            usleep(20_000)
        }
    }

    /// Returns to a shared lock after ``upgrade(waitingUpTo:)``. Atomic: no other process can
    /// take the lock exclusively in between.
    func downgrade() { _ = Self.lock(descriptor, type: F_RDLCK, waiting: true) }

    /// Sets a whole-file OFD lock of `type`; `false` with `errno` set when it is refused.
    private static func lock(_ descriptor: Int32, type: Int32, waiting: Bool) -> Bool {
        var request = flock()
        request.l_type = Int16(type)
        request.l_whence = Int16(SEEK_SET)
        request.l_start = 0
        request.l_len = 0
        request.l_pid = 0  // required to be 0 for OFD locks
        while true {
            if fcntl(descriptor, waiting ? setLockWaiting : setLock, &request) == 0 { return true }
            if errno != EINTR { return false }
        }
    }
}
