import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdCore
import Ledger
import Logging
import NIOCore
import Projections
import ServiceLifecycle

/// `ledgerctl serve [--socket PATH]`.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the ledger over HTTP/1.1 + JSON on a Unix socket (SPEC §7).",
        discussion: """
            Listens on <ledger>/ledger.sock (mode 0600; 0660 with --socket-group). Callers are \
            identified by their Unix credentials and the catalogue's clients section; without one, \
            only the server's own user and root are let in. Appends are group-committed: every \
            answer comes after its fsync. SIGTERM or SIGINT stops accepting, finishes what is in \
            flight, closes the ledger and removes the socket.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: ArgumentHelp("The socket path (default <ledger>/ledger.sock).", valueName: "path"))
    var socket: String?
    @Option(name: .customLong("socket-group"), help: "A group whose members may connect (socket mode 0660).")
    var socketGroup: String?
    @Option(name: .customLong("max-connections"), help: "Connections served at once.") var maxConnections = 512
    @Option(name: .customLong("idle-timeout"), help: "Seconds before an idle connection is closed.") var idleTimeout =
        60
    @Option(
        name: .customLong("request-timeout"),
        help:
            "Seconds a request may take to arrive whole, from its headers to the end of its body; a slower client is cut off."
    )
    var requestTimeout = 30
    @Option(
        name: .customLong("queue-capacity"),
        help: "Events waiting for the writer at most; further appends wait their turn (nothing is dropped)."
    )
    var queueCapacity = 200_000
    @Option(
        name: .customLong("initial-map-size"),
        help: ArgumentHelp(
            "The map size (address space) each environment starts with, in MiB; it grows as needed (default 1024).",
            valueName: "MiB"
        )
    )
    var initialMapSize: Int?

    func validate() throws {
        // Upper bounds too: a timeout is multiplied into nanoseconds, which must not overflow.
        guard (1...86_400).contains(idleTimeout), (1...86_400).contains(requestTimeout) else {
            throw ValidationError("--idle-timeout and --request-timeout must be 1 to 86400 seconds")
        }
        guard (1...1_000_000).contains(maxConnections), (1...100_000_000).contains(queueCapacity) else {
            throw ValidationError(
                "--max-connections must be 1 to 1000000 and --queue-capacity 1 to 100000000"
            )
        }
        guard (1...(1 << 20)).contains(initialMapSize ?? 1) else {
            throw ValidationError(
                "--initial-map-size must be 1 to 1048576 MiB"
            )
        }
    }

    func run() async throws {
        do {
            try await serve()
        } catch let error as LedgerError {
            Output.report(error, json: global.json)
            throw CommandFailure(exitCode: error.exitCode)
        }
    }

    private func serve() async throws {
        let socketPath = socket ?? global.directory + "/ledger.sock"
        var logger = Logger(label: "consentledger")
        logger.logLevel = .info
        let serverGuard = try ServerGuard(ledgerDirectory: global.directory, socketPath: socketPath)
        // The server writes projection snapshots in the background (SnapshotScheduler), so no
        // append waits for a fold; one-shot ledgerctl processes keep the in-transaction observer.
        var options = global.ledgerOptions
        options.observers = []
        if let initialMapSize { options.initialMapSize = initialMapSize << 20 }
        // Every page of the events file is checked once at start: a damaged page is refused with
        // ledger_corrupt here rather than crashing the server at the first GET /v1/log.
        options.checksPages = true
        let ledger = try Ledger(openingAt: global.directory, options: options)
        let groupID = try socketGroup.map { name -> gid_t in
            guard let group = getgrnam(name) else { throw LedgerError(.invalidField, "no group named \(name)") }
            return group.pointee.gr_gid
        }
        let metrics = ServerMetrics()
        let writer = GroupCommitWriter(ledger: ledger, metrics: metrics, logger: logger, capacity: queueCapacity)
        let router = Router(context: LedgerRequestContext.self)
        LedgerRoutes(ledger: ledger, writer: writer, metrics: metrics, trustedUID: getuid()).register(on: router)
        let previousMask = umask(0o177)
        let requestLimit = TimeAmount.seconds(Int64(requestTimeout))
        let handlerLogger = logger
        // At the cap the connection idle longest gives way, or a newcomer is refused at once
        // (Hummingbird's own cap would leave it waiting in the backlog for an idle timeout).
        let limiter = ConnectionLimiter(capacity: maxConnections)
        let app = Application(
            router: router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [
                        ConnectionLimitHandler(limiter: limiter, metrics: metrics),
                        MalformedRequestHandler(metrics: metrics),
                        RequestDeadlineHandler(limit: requestLimit, logger: handlerLogger),
                    ],
                    idleTimeout: .seconds(Int64(idleTimeout))
                )
            ),
            configuration: .init(
                address: .unixDomainSocket(path: socketPath),
                serverName: "ConsentLedger"
            ),
            onServerRunning: { [global] _ in
                umask(previousMask)
                if let groupID {
                    chown(socketPath, getuid(), groupID)
                    chmod(socketPath, 0o660)
                } else {
                    chmod(socketPath, 0o600)
                }
                Output.line("ConsentLedger is serving the ledger in \(global.directory) on \(socketPath)")
                Output.line("  curl --unix-socket \(socketPath) http://localhost/v1/head")
                Output.line("  curl --unix-socket \(socketPath) -H 'Content-Type: application/json' \\")
                Output.line(
                    "       -d '{\"type\":\"consent.granted\",\"subject\":\"alice@example.com\",\"purpose\":\"newsletter\",\"notice\":\"policy-v1\"}' \\"
                )
                Output.line("       http://localhost/v1/events")
                Output.line("Stop with Ctrl-C or SIGTERM.")
            },
            logger: logger
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [WriterService(writer: writer), app],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        unlink(socketPath)
        withExtendedLifetime(serverGuard) {}
        logger.info("stopped; the socket is removed")
    }
}
