import Ledger
import NIOCore

/// The peer credentials of each open connection, read once per connection rather than once per
/// request: reading them costs a hop to the connection's event loop, and a peer's credentials
/// cannot change while its connection is open (SO_PEERCRED reports the connecting process).
final class PeerCredentialCache: Sendable {
    private let known = Locked<[ObjectIdentifier: PeerCredentials]>([:])

    /// The credentials of `channel`'s peer; `nil` when the channel cannot tell (not a Unix socket).
    func credentials(of channel: any Channel) async -> PeerCredentials? {
        let id = ObjectIdentifier(channel)
        if let cached = known.withLock({ $0[id] }) { return cached }
        guard let read = await PeerCredentials.of(channel) else { return nil }
        known.withLock { $0[id] = read }
        // Forgotten when the connection closes, so a later channel at the same address starts
        // afresh; on a channel already closed this runs at once.
        channel.closeFuture.whenComplete { [known] _ in _ = known.withLock { $0.removeValue(forKey: id) } }
        return read
    }
}
