import Foundation
import Ledger
import Logging

/// The server for a process that embeds it rather than running `ledgerctl serve`: the HTTP fuzz
/// target, which needs the whole stack (HTTP parsing, the connection handlers, the routes, the
/// writer) in its own process so that libFuzzer sees its coverage.
public enum EmbeddedServer {
    /// Opens the ledger in `directory` as `ledgerctl serve` does and serves it on `socketPath`,
    /// with `serve`'s defaults, on a task of its own until the process ends or receives SIGTERM.
    /// Returns once the socket is bound.
    ///
    /// It takes no ``ServerGuard``: the caller owns `directory` and runs no other server on it.
    /// - Throws: ``LedgerError`` when the ledger cannot be opened; `io_error` when the server
    ///   stopped before it was ready, or did not bind within `timeout` seconds.
    public static func start(ledgerAt directory: String, socketPath: String, timeout: Double = 30) throws {
        var logger = Logger(label: "consentledger")
        logger.logLevel = .critical
        let ledger = try Ledger(openingAt: directory, options: LedgerServer.ledgerOptions(Ledger.Options()))
        let server = LedgerServer(
            ledger: ledger,
            configuration: ServerConfiguration(socketPath: socketPath),
            logger: logger
        )
        let ready = DispatchSemaphore(value: 0)
        let failure = Locked<String?>(nil)
        Task.detached {
            do {
                try await server.run { ready.signal() }
                failure.withLock { $0 = "the embedded server stopped" }
            } catch {
                failure.withLock { $0 = "the embedded server failed: \(error)" }
            }
            ready.signal()
        }
        guard ready.wait(timeout: .now() + timeout) == .success else {
            throw LedgerError(.ioError, "the embedded server did not bind \(socketPath) within \(timeout) s")
        }
        if let message = failure.withLock({ $0 }) { throw LedgerError(.ioError, message) }
    }
}
