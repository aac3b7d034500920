import Foundation

/// How a ``LedgerServer`` is set up: its socket, who may call it, and its limits (SPEC §7).
/// Every property has the default of `ledgerctl serve`.
package struct ServerConfiguration: Sendable {
    /// The Unix socket the server listens on.
    package var socketPath: String
    /// A group whose members may connect (the socket's mode is then 0660, else 0600).
    package var socketGroup: gid_t?
    /// The uid let in with every role when the catalogue has no `clients` section: by default the
    /// server's own user.
    package var trustedUID: UInt32
    /// Where each caller's credentials come from.
    package var identification: PeerIdentification
    /// Connections served at once (`--max-connections`).
    package var maxConnections: Int
    /// Seconds before an idle connection is closed (`--idle-timeout`).
    package var idleTimeout: Int64
    /// Seconds a request may take to arrive whole, from its headers to the end of its body
    /// (`--request-timeout`).
    package var requestTimeout: Int64
    /// Events waiting for the writer at most; further appends wait their turn (`--queue-capacity`).
    package var queueCapacity: Int

    /// A configuration serving on `socketPath`, identifying callers by their socket credentials.
    package init(
        socketPath: String,
        socketGroup: gid_t? = nil,
        trustedUID: UInt32 = getuid(),
        identification: PeerIdentification = .socketCredentials,
        maxConnections: Int = 512,
        idleTimeout: Int64 = 60,
        requestTimeout: Int64 = 30,
        queueCapacity: Int = 200_000
    ) {
        self.socketPath = socketPath
        self.socketGroup = socketGroup
        self.trustedUID = trustedUID
        self.identification = identification
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.queueCapacity = queueCapacity
    }
}
