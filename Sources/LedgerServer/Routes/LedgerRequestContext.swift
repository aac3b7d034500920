import Hummingbird
import NIOCore

/// The request context: Hummingbird's core storage plus the socket channel, whose peer
/// credentials identify the caller.
package struct LedgerRequestContext: RequestContext {
    /// Hummingbird's per-request storage.
    package var coreContext: CoreRequestContextStorage
    /// The connection the request arrived on.
    package let channel: any Channel

    /// The context of a request arriving from `source`.
    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The largest body any call takes (SPEC §7: 1 MiB).
    package var maxUploadSize: Int { 1 << 20 }
}
