import ArgumentParser
import Foundation
import Ledger
import LedgerServer
import Logging

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
        try await LedgerServer(ledger: ledger, configuration: configuration, logger: logger).run { [global] in
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
}
