import Hummingbird
import NIOCore

/// The request context: Hummingbird's core storage plus the socket channel, whose peer
/// credentials identify the caller.
struct LedgerRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The largest body any call takes (SPEC §7: 1 MiB).
    var maxUploadSize: Int { 1 << 20 }
}
