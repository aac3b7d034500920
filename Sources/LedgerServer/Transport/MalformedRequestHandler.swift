import HTTPTypes
import Ledger
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request that is not well-formed HTTP/1.1 (a garbled request line, headers over the
/// limit) with SPEC §7's error object — 400 `bad_request`, `application/json` — and closes the
/// connection. Hummingbird alone answers such a request 400 with an empty body.
///
/// A parse error while a request's body is being read goes on to that request's handler, which
/// answers it (``ErrorMiddleware``); one that arrives while a response is being written is
/// answered once that response is complete.
final class MalformedRequestHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let metrics: ServerMetrics
    /// Requests whose head has arrived and whose response is not yet complete.
    private var requestsInFlight = 0
    /// Whether the newest request's body is still arriving.
    private var readingBody = false
    /// A parse error to answer once the response under way is complete.
    private var pending: LedgerError?
    private var answered = false

    init(metrics: ServerMetrics) { self.metrics = metrics }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestsInFlight += 1
            readingBody = true
        case .end:
            readingBody = false
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        requestsInFlight = max(0, requestsInFlight - 1)
        context.write(data, promise: promise)
        if requestsInFlight == 0, let error = pending {
            pending = nil
            answer(error, context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError, !readingBody, !answered else {
            context.fireErrorCaught(error)
            return
        }
        let refusal = Self.refusal(for: parseError)
        if requestsInFlight > 0 {
            pending = refusal
        } else {
            answer(refusal, context: context)
        }
    }

    private func answer(_ error: LedgerError, context: ChannelHandlerContext) {
        answered = true
        metrics.countError(error.code)
        error.writeResponse(to: context)
    }

    /// The error object for a parse error: what was wrong, in words, never the bytes sent.
    static func refusal(for error: HTTPParserError) -> LedgerError {
        switch error {
        case .headerOverflow:
            return LedgerError(.badRequest, "the request's headers are over the size limit")
        default:
            return LedgerError(.badRequest, "the request is not well-formed HTTP/1.1")
        }
    }
}
