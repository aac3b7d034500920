import ArgumentParser
import Dashboard
import Foundation
import Ledger
import LedgerServer
import Logging
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

            --dashboard 127.0.0.1:PORT also serves the privacy officer's read-only web dashboard on \
            that loopback address (never another): a new login token is written to \
            <ledger>/dashboard.token (mode 0600) and the login URL is printed once. Port 0 takes a \
            free port. For remote use, forward the port over SSH.
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
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Also serve the read-only web dashboard on this loopback address and port (127.0.0.1:8080, [::1]:8080).",
            valueName: "address:port"
        )
    )
    var dashboard: String?

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
        if let dashboard {
            do {
                _ = try LoopbackAddress(parsing: dashboard)
            } catch {
                throw ValidationError(error.message)
            }
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
        var options = LedgerServer.ledgerOptions(global.ledgerOptions)
        if let initialMapSize { options.initialMapSize = initialMapSize << 20 }
        let ledger = try Ledger(openingAt: global.directory, options: options)
        let groupID = try socketGroup.map { name -> gid_t in
            guard let group = getgrnam(name) else { throw LedgerError(.invalidField, "no group named \(name)") }
            return group.pointee.gr_gid
        }
        let configuration = ServerConfiguration(
            socketPath: socketPath,
            socketGroup: groupID,
            maxConnections: maxConnections,
            idleTimeout: Int64(idleTimeout),
            requestTimeout: Int64(requestTimeout),
            queueCapacity: queueCapacity
        )
        let beside = try dashboard.map { try dashboardService(ledger: ledger, address: $0, logger: logger) }
        defer {
            if beside != nil {
                AccessToken.removeFile(at: DashboardServer.tokenPath(ledgerDirectory: global.directory))
            }
        }
        try await LedgerServer(ledger: ledger, configuration: configuration, logger: logger).run(
            alongside: beside.map { [$0] } ?? []
        ) { [global] in
            Output.line("ConsentLedger is serving the ledger in \(global.directory) on \(socketPath)")
            Output.line("  curl --unix-socket \(socketPath) http://localhost/v1/head")
            Output.line("  curl --unix-socket \(socketPath) -H 'Content-Type: application/json' \\")
            Output.line(
                "       -d '{\"type\":\"consent.granted\",\"subject\":\"alice@example.com\",\"purpose\":\"newsletter\",\"notice\":\"policy-v1\"}' \\"
            )
            Output.line("       http://localhost/v1/events")
            Output.line("Stop with Ctrl-C or SIGTERM.")
        }
        withExtendedLifetime(serverGuard) {}
    }

    /// The dashboard on `address`: a new token written to `<ledger>/dashboard.token`, and the login
    /// URL printed once its listener is bound (on standard output only, never in the log).
    private func dashboardService(ledger: Ledger, address text: String, logger: Logger) throws -> any Service {
        let address: LoopbackAddress
        do {
            address = try LoopbackAddress(parsing: text)
        } catch {
            throw LedgerError(.invalidField, error.message)
        }
        let token = AccessToken(random: SystemRandomSource())
        let tokenPath = DashboardServer.tokenPath(ledgerDirectory: global.directory)
        try token.write(toFile: tokenPath)
        let dashboard = try DashboardServer(ledger: ledger, address: address, token: token, logger: logger)
        return dashboard.service { bound in
            logger.info("the dashboard listens on \(bound) (loopback only)")
            Output.line(
                "The dashboard is on http://\(bound)/ (loopback only; the token is in \(tokenPath)). Log in at:"
            )
            Output.line("  " + dashboard.loginURL(at: bound))
        }
    }
}
