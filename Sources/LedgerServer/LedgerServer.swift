import Foundation
import Hummingbird
import Ledger
import Logging
import NIOCore
import ServiceLifecycle

/// The socket server of SPEC §7 for one opened ledger: the routes, the group-commit writer and
/// the connection handlers, assembled into a Hummingbird application.
///
/// `ledgerctl serve` calls ``run(onReady:)``; tests drive ``makeApplication(onServerRunning:)`` in
/// process with Hummingbird's test client. Each application has its own writer, started and
/// stopped with it as one of its services.
package struct LedgerServer: Sendable {
    /// The ledger served.
    package let ledger: Ledger
    /// The socket, callers and limits.
    package let configuration: ServerConfiguration
    /// Where the server logs (never personal data).
    package let logger: Logger

    /// A server for `ledger`, opened with options from ``ledgerOptions(_:)``.
    package init(ledger: Ledger, configuration: ServerConfiguration, logger: Logger) {
        self.ledger = ledger
        self.configuration = configuration
        self.logger = logger
    }

    /// `options` adjusted for a ledger that a server will serve: no projection observer inside the
    /// append (the writer has projection snapshots written in the background, so no append waits
    /// for a fold), and every page of the events file checked once at opening (a damaged page is
    /// refused with `ledger_corrupt` then, rather than crashing the server at the first
    /// `GET /v1/log`).
    package static func ledgerOptions(_ options: Ledger.Options) -> Ledger.Options {
        var options = options
        options.observers = []
        options.checksPages = true
        return options
    }

    /// The application: every route of SPEC §7 and the writer behind the appends and erasures,
    /// listening on the configuration's socket with the connection cap, the malformed-request
    /// answer and the request timeout in each connection's pipeline.
    /// - Parameter onServerRunning: Called once the socket is bound.
    /// - Returns: An application that runs its writer as one of its services: run it (or test it)
    ///   as a whole.
    package func makeApplication(
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> Application<RouterResponder<LedgerRequestContext>> {
        let metrics = ServerMetrics()
        let writer = GroupCommitWriter(
            ledger: ledger,
            metrics: metrics,
            logger: logger,
            capacity: configuration.queueCapacity
        )
        let router = Router(context: LedgerRequestContext.self)
        LedgerRoutes(
            ledger: ledger,
            writer: writer,
            metrics: metrics,
            trustedUID: configuration.trustedUID,
            identification: configuration.identification
        )
        .register(on: router)
        // At the cap the connection idle longest gives way, or a newcomer is refused at once
        // (Hummingbird's own cap would leave it waiting in the backlog for an idle timeout).
        let limiter = ConnectionLimiter(capacity: configuration.maxConnections)
        return Application(
            router: router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [
                        ConnectionLimitHandler(limiter: limiter, metrics: metrics),
                        MalformedRequestHandler(metrics: metrics),
                        RequestDeadlineHandler(limit: .seconds(configuration.requestTimeout), logger: logger),
                    ],
                    idleTimeout: .seconds(configuration.idleTimeout)
                )
            ),
            configuration: .init(
                address: .unixDomainSocket(path: configuration.socketPath),
                serverName: "ConsentLedger"
            ),
            // Graceful shutdown runs in reverse: the HTTP server finishes what is in flight, then
            // the writer commits what is queued.
            services: [WriterService(writer: writer)],
            onServerRunning: onServerRunning,
            logger: Self.requestLogger(logger)
        )
    }

    /// `logger` with its handler wrapped so that the metadata Hummingbird sets for each request
    /// costs nothing until a message is logged.
    private static func requestLogger(_ logger: Logger) -> Logger {
        var wrapped = logger
        wrapped.handler = DeferredMetadataLogHandler(wrapping: logger.handler)
        return wrapped
    }

    /// Serves on the configuration's socket until SIGTERM or SIGINT: stops accepting, finishes what
    /// is in flight and queued, then removes the socket. The socket is created with mode 0600, or
    /// 0660 and the configuration's group.
    /// - Parameters:
    ///   - services: Services run beside the socket server in the same service group (the
    ///     dashboard's listener): they start with it, stop first on SIGTERM or SIGINT, and when one
    ///     fails the whole group stops.
    ///   - onReady: Called once the socket is bound and its mode set.
    /// - Throws: When the socket cannot be bound, or a service beside it fails.
    /// - Warning: Changes the process umask until the socket is bound. Hold a ``ServerGuard`` on
    ///   the ledger for as long as this runs.
    package func run(
        alongside services: [any Service] = [],
        onReady: @escaping @Sendable () -> Void = {}
    ) async throws {
        let socketPath = configuration.socketPath
        let socketGroup = configuration.socketGroup
        let previousMask = umask(0o177)
        let app = makeApplication { _ in
            umask(previousMask)
            if let socketGroup {
                chown(socketPath, getuid(), socketGroup)
                chmod(socketPath, 0o660)
            } else {
                chmod(socketPath, 0o600)
            }
            onReady()
        }
        let group = ServiceGroup(
            // Graceful shutdown runs in reverse order: the services beside the socket stop first.
            configuration: .init(
                services: [app] + services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch {
            // A service that failed (a dashboard that cannot listen) stops the group after the
            // socket was bound: the socket is this server's (``ServerGuard``), so remove it.
            unlink(socketPath)
            throw error
        }
        unlink(socketPath)
        logger.info("stopped; the socket is removed")
    }
}
