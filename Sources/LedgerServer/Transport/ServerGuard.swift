import Foundation
import Ledger
import LedgerClient

/// Keeps one server per ledger: an exclusive lock on `<ledger>/server.lock` for the server's life,
/// and a socket file that is replaced only when nothing answers on it (a crash's leftover).
package final class ServerGuard {
    private let descriptor: Int32

    /// Takes the ledger's server lock and clears a stale socket at `socketPath`.
    /// - Throws: `ledger_locked` when another server serves the ledger or answers on the socket;
    ///   `io_error` when `server.lock` is a symbolic link or not a regular file, or cannot be opened.
    package init(ledgerDirectory: String, socketPath: String) throws {
        // A symbolic link planted at the lock's name is refused, never followed (nor its target
        // created), and so is anything other than a regular file.
        descriptor = try WritableFile.open(
            ledgerDirectory + "/server.lock",
            .openOrCreate,
            access: O_RDWR,
            name: "the server lock file"
        )
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
