import Foundation
import HTTPTypes
import Ledger
import NIOCore
import NIOHTTPTypes
import Synchronization

/// The connection cap (SPEC §7, `--max-connections`) that never makes a newcomer wait: at the cap,
/// the connection that has been idle longest (no request in flight) is closed to make room; when
/// every connection is in the middle of a request, the newcomer is answered 503
/// `too_many_connections` and closed at once.
///
/// Hummingbird's own cap stops accepting at the limit, so a new client waited in the listen
/// backlog until some connection closed — with keep-alive clients that sit idle, for the whole
/// idle timeout.
final class ConnectionLimiter: Sendable {
    /// One open connection; `idleSince` is `nil` while a request is in flight.
    private struct Entry {
        let channel: any Channel
        var idleSince: UInt64?
    }

    /// What ``admit(_:)`` decided.
    enum Admission: Sendable {
        /// Room was free, or `evicting` was chosen to give way (the caller closes it).
        case admitted(evicting: (any Channel)?)
        /// Every connection is busy: refuse the newcomer.
        case refused
    }

    /// The most connections served at once.
    let capacity: Int
    private let open = Mutex<[ObjectIdentifier: Entry]>([:])

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Counts `channel` in, idle; at the cap, picks the connection idle longest to give way.
    func admit(_ channel: any Channel) -> Admission {
        let now = DispatchTime.now().uptimeNanoseconds
        return open.withLock { open in
            var victim: (any Channel)?
            if open.count >= capacity {
                let idle = open.filter { $0.value.idleSince != nil }
                guard let oldest = idle.min(by: { ($0.value.idleSince ?? 0) < ($1.value.idleSince ?? 0) }) else {
                    return .refused
                }
                open[oldest.key] = nil
                victim = oldest.value.channel
            }
            open[ObjectIdentifier(channel)] = Entry(channel: channel, idleSince: now)
            return .admitted(evicting: victim)
        }
    }

    /// Marks `channel` busy (a request arrived) or idle (its response is complete).
    func mark(_ channel: any Channel, busy: Bool) {
        let now = DispatchTime.now().uptimeNanoseconds
        open.withLock { open in
            let key = ObjectIdentifier(channel)
            guard open[key] != nil else { return }
            open[key]?.idleSince = busy ? nil : now
        }
    }

    /// Counts `channel` out once it has closed.
    func remove(_ channel: any Channel) {
        open.withLock { open in
            let key = ObjectIdentifier(channel)
            // A channel that gave way is no longer counted; a newer one may not share its identity
            // while this one is alive, so the entry found is this channel's.
            if let entry = open[key], entry.channel === channel { open[key] = nil }
        }
    }
}

/// Puts one connection under a ``ConnectionLimiter``: admits it when it opens (or refuses it,
/// answering 503 `too_many_connections`), and tells the limiter when a request is in flight.
final class ConnectionLimitHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limiter: ConnectionLimiter
    private let metrics: ServerMetrics
    private var admitted = false
    private var refused = false
    /// Requests whose head arrived and whose response is not yet complete.
    private var inFlight = 0

    init(limiter: ConnectionLimiter, metrics: ServerMetrics) {
        self.limiter = limiter
        self.metrics = metrics
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context: context)
        context.fireChannelActive()
    }

    private func admit(context: ChannelHandlerContext) {
        guard !admitted, !refused else { return }
        let channel = context.channel
        switch limiter.admit(channel) {
        case .admitted(let victim):
            admitted = true
            channel.closeFuture.whenComplete { [limiter] _ in limiter.remove(channel) }
            victim?.close(promise: nil)
        case .refused:
            refused = true
            let error = LedgerError(
                .tooManyConnections,
                "the server has \(limiter.capacity) connections, all in the middle of a request; try again shortly"
            )
            metrics.countError(error.code)
            error.writeResponse(to: context)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // A refused connection's requests go unread: it is closing.
        guard !refused else { return }
        if case .head = unwrapInboundIn(data) {
            inFlight += 1
            if inFlight == 1 { limiter.mark(context.channel, busy: true) }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), inFlight > 0 {
            inFlight -= 1
            if inFlight == 0 { limiter.mark(context.channel, busy: false) }
        }
        context.write(data, promise: promise)
    }
}
