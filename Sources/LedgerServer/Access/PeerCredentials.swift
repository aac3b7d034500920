import Foundation
import NIOCore

/// The Unix credentials of a socket peer, read with `SO_PEERCRED`.
package struct PeerCredentials: Sendable, Equatable {
    /// Mirrors Glibc's `struct ucred`, which Swift cannot see: pid, uid, gid.
    private struct UCred {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// The peer's user id.
    package var uid: UInt32
    /// The peer's group id.
    package var gid: UInt32

    /// Credentials with the given ids.
    package init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }

    /// Reads the peer credentials of `channel`; `nil` when the channel cannot tell (not a Unix socket).
    static func of(_ channel: any Channel) async -> PeerCredentials? {
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        let future: EventLoopFuture<UCred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET),
            name: SocketOptionName(SO_PEERCRED)
        )
        guard let credentials = try? await future.get() else { return nil }
        return PeerCredentials(uid: credentials.uid, gid: credentials.gid)
    }
}
