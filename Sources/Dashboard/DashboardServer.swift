import Hummingbird
import HummingbirdCore
import Ledger
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The privacy officer's dashboard for one opened ledger: a read-only web listener on a loopback
/// TCP address, run beside the socket server (`ledgerctl serve --dashboard ADDRESS`).
///
/// It is opened with a token (``AccessToken``) that `ledgerctl` writes to
/// `<ledger>/dashboard.token` and prints in a login URL; the login sets a session cookie. Its
/// pages are computed from the ledger on a thread of its own, at a lower priority, from folds it keeps and extends
/// (``PageCache``), and rendered from templates compiled into the binary, so it needs no network
/// and no file besides the ledger.
package struct DashboardServer: Sendable {
    /// The ledger shown (read only).
    package let ledger: Ledger
    /// Where it listens.
    package let address: LoopbackAddress
    /// The token the login URL carries.
    package let token: AccessToken
    /// The logged-in sessions.
    package let sessions: SessionStore
    /// What "now" is, for pages without `asOf` and for sessions.
    package let clock: any LedgerClock
    /// Where it logs (never the token, a session id or personal data).
    package let logger: Logger
    /// Where its pages are computed, and what is kept of them.
    package let pages: PageCache
    private let renderer: PageRenderer

    /// A dashboard for `ledger` on `address`, opened by `token`.
    /// - Throws: When a template does not compile (a fault of the build).
    package init(
        ledger: Ledger,
        address: LoopbackAddress,
        token: AccessToken,
        sessions: SessionStore = SessionStore(),
        clock: any LedgerClock = SystemClock(),
        logger: Logger
    ) throws {
        self.ledger = ledger
        self.address = address
        self.token = token
        self.sessions = sessions
        self.clock = clock
        self.logger = logger
        pages = PageCache(ledger: ledger)
        renderer = try PageRenderer()
    }

    /// The session cookie's name: `ledger_dashboard_` and the start of the ledger's id, so that the
    /// dashboards of two ledgers on one machine (cookies do not tell ports apart) keep their own
    /// sessions.
    package var cookieName: String { "ledger_dashboard_" + String(ledger.ledgerId.prefix(8)) }

    /// `<ledger>/dashboard.token`: where `ledgerctl serve --dashboard` writes the token.
    package static func tokenPath(ledgerDirectory: String) -> String { ledgerDirectory + "/dashboard.token" }

    /// The URL that logs in, at `address` (the one listened on, once a port 0 is resolved).
    package func loginURL(at address: LoopbackAddress) -> String { "http://\(address)/login?token=\(token.hex)" }

    /// Every route behind the gate (``DashboardGate``).
    package func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        DashboardRoutes(
            token: token,
            cookieName: cookieName,
            sessions: sessions,
            renderer: renderer,
            clock: clock,
            pages: pages
        )
        .register(on: router)
        return router
    }

    /// The most connections the dashboard keeps open; more wait in the listen backlog.
    static let maxConnections = 32

    /// The application listening on ``address``.
    /// - Parameters:
    ///   - eventLoopGroup: Where its connections' I/O runs; NIO's shared group when `nil`.
    ///   - onListening: Called once the listener is bound, with the address it is bound to (the
    ///     port the system chose for port 0).
    package func makeApplication(
        eventLoopGroup: (any EventLoopGroup)? = nil,
        onListening: @escaping @Sendable (LoopbackAddress) async -> Void = { _ in }
    ) -> Application<RouterResponder<BasicRequestContext>> {
        let address = address
        return Application(
            router: makeRouter(),
            server: .http1(configuration: .init(idleTimeout: .seconds(60))),
            // A cap on connections: any local user can reach the port, token or not, and the
            // process also serves the socket API, so its descriptors are not theirs to take.
            configuration: .init(
                address: .hostname(address.host, port: address.port),
                serverName: "ConsentLedger",
                availableConnectionsDelegate: MaximumAvailableConnections(Self.maxConnections)
            ),
            onServerRunning: { channel in
                await onListening(address.with(port: channel.localAddress?.port ?? address.port))
            },
            eventLoopGroupProvider: eventLoopGroup.map { .shared($0) } ?? .singleton,
            logger: logger
        )
    }

    /// The dashboard as a service to run beside the socket server, in its service group: it stops
    /// with the group (SIGTERM, SIGINT), and a listener that cannot bind fails the group with
    /// `io_error` naming the address. Its connections' I/O runs on an event loop of its own, so
    /// that sending a large page never holds up the socket API's event loops.
    package func service(onListening: @escaping @Sendable (LoopbackAddress) async -> Void = { _ in }) -> some Service {
        DashboardService(dashboard: self, onListening: onListening)
    }
}

/// Runs the dashboard's application on an event loop of its own, naming its address when it
/// cannot listen.
private struct DashboardService: Service {
    let dashboard: DashboardServer
    let onListening: @Sendable (LoopbackAddress) async -> Void

    func run() async throws {
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let application = dashboard.makeApplication(eventLoopGroup: loop, onListening: onListening)
        do {
            try await application.run()
            try await loop.shutdownGracefully()
        } catch is CancellationError {
            try? await loop.shutdownGracefully()
            throw CancellationError()
        } catch {
            try? await loop.shutdownGracefully()
            throw LedgerError(.ioError, "the dashboard cannot listen on \(dashboard.address): \(error)")
        }
    }
}
