import Foundation
import Ledger
import LedgerClient

/// Keeps one server per ledger: an exclusive lock on `<ledger>/server.lock` for the server's life,
/// and a socket file that is replaced only when nothing answers on it (a crash's leftover).
package final class ServerGuard {
    private let descriptor: Int32

    /// Takes the ledger's server lock and clears a stale socket at `socketPath`.
    /// - Throws: `ledger_locked` when another server serves the ledger or answers on the socket.
    package init(ledgerDirectory: String, socketPath: String) throws {
        // A symbolic link planted at the lock's name is refused, never followed (nor its target created).
        descriptor = open(ledgerDirectory + "/server.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            if errno == ELOOP {
                throw LedgerError(.ioError, "\(ledgerDirectory)/server.lock is a symbolic link; refused (remove it)")
            }
            throw LedgerError(.ioError, "cannot open \(ledgerDirectory)/server.lock")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw LedgerError(.ledgerLocked, "another server is already serving the ledger in \(ledgerDirectory)")
        }
        if FileManager.default.fileExists(atPath: socketPath) {
            guard !UnixHTTPClient(path: socketPath).isAnswering() else {
                close(descriptor)
                throw LedgerError(.ledgerLocked, "a server already answers on \(socketPath)")
            }
            unlink(socketPath)
        }
    }

    deinit { close(descriptor) }
}
