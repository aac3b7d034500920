import Foundation

/// An advisory `flock` on a lock file, held shared by every process that has an environment open
/// and taken exclusively by an operation that replaces the environment's data file.
final class FileLock: @unchecked Sendable {
    // Invariant: `descriptor` is open from init to deinit; flock calls on it are thread-safe and
    // callers serialise mode changes through the key store's gate.
    private let descriptor: Int32
    let path: String

    /// Opens (creating) the lock file and takes it shared, waiting while another process holds it
    /// exclusively (a compaction in progress).
    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw LedgerError(.ioError, "cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_SH) == 0 else {
            close(descriptor)
            throw LedgerError(.ledgerLocked, "cannot lock \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(descriptor) }

    /// Tries to turn the shared lock into an exclusive one, retrying for up to `seconds`.
    /// - Returns: `false` when another process kept its shared lock all that time.
    func upgrade(waitingUpTo seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return true }
            if Date() >= deadline { return false }
            usleep(20_000)
        }
    }

    /// Returns to a shared lock after ``upgrade(waitingUpTo:)``.
    func downgrade() { flock(descriptor, LOCK_SH) }
}
