import Logging
import NIOCore
import NIOHTTPTypes

/// The slow-client timeout (SPEC §7): a request must arrive whole within `limit` of its head, or
/// its connection is closed. The idle timeout alone cannot catch a client that sends its headers
/// and then trickles its body a byte at a time, since every byte counts as activity; such a client
/// would hold a connection, and delay a graceful stop, for as long as it liked. (Headers that
/// trickle are caught by the idle timeout: nothing counts as activity until they are complete.)
final class RequestDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let limit: TimeAmount
    private let logger: Logger
    private var deadline: Scheduled<Void>?

    init(limit: TimeAmount, logger: Logger) {
        self.limit = limit
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            deadline?.cancel()
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let logger = logger
            let limit = limit
            deadline = context.eventLoop.scheduleTask(in: limit) {
                logger.notice(
                    "closed a connection whose request did not arrive in time",
                    metadata: ["limit": "\(limit)"]
                )
                loopBound.value.close(promise: nil)
            }
        case .end:
            deadline?.cancel()
            deadline = nil
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }
}
