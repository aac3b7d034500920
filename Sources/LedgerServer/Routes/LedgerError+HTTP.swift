import HTTPTypes
import Hummingbird
import Ledger
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

extension LedgerError {
    /// The HTTP status of SPEC §7's table.
    var httpStatus: HTTPResponse.Status {
        switch code {
        case .invalidJSON, .unknownField, .missingField, .invalidField, .unknownType, .invalidCatalogue,
            .unreadableInput, .badRequest:
            return .badRequest
        case .forbidden: return .forbidden
        case .notFound, .subjectNotFound: return .notFound
        case .methodNotAllowed: return .methodNotAllowed
        case .eventIdConflict: return .conflict
        case .payloadTooLarge, .batchTooLarge: return .contentTooLarge
        case .unknownPurpose, .purposeNotConsentBased, .unknownNotice, .occurredInFuture, .requestNotOpen:
            return .unprocessableContent
        case .ledgerFull: return .init(code: 507, reasonPhrase: "Insufficient Storage")
        // Shutting down, or a lock held elsewhere for now: worth retrying, unlike a fault.
        case .ledgerLocked, .tooManyConnections: return .serviceUnavailable
        default: return .internalServerError
        }
    }

    /// `{"error":{"code","message"(,"line")}}` as a response; `includeLine` for NDJSON batches.
    func response(includeLine: Bool) -> Response {
        var error = self
        if !includeLine { error.line = nil }
        var response = JSONResponse.make(error.json, status: httpStatus)
        response.headers[ErrorMiddleware<LedgerRequestContext>.codeHeader] = code.rawValue
        return response
    }
}

extension LedgerError {
    /// Writes this error as a whole response straight onto a connection's pipeline, for channel
    /// handlers that answer before or instead of the router; then closes the connection's output,
    /// and the connection a moment later if the client has not closed it by then.
    /// - Warning: Call on the channel's event loop.
    func writeResponse(to context: ChannelHandlerContext) {
        var bytes = json.utf8
        bytes.append(UInt8(ascii: "\n"))
        let head = HTTPResponse(
            status: httpStatus,
            headerFields: [
                .contentType: "application/json", .contentLength: "\(bytes.count)", .connection: "close",
            ]
        )
        context.write(NIOAny(HTTPResponsePart.head(head)), promise: nil)
        context.write(NIOAny(HTTPResponsePart.body(ByteBuffer(bytes: bytes))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(NIOAny(HTTPResponsePart.end(nil))).whenComplete { _ in
            // Half-close first, so the client reads the whole answer and then end of file.
            channel.close(mode: .output, promise: nil)
            channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
        }
    }
}

/// JSON responses with the ledger's fixed key order.
enum JSONResponse {
    static func make(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var bytes = value.utf8
        bytes.append(UInt8(ascii: "\n"))
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}

/// Turns every error of a request into SPEC §7's error object, counted by code in the metrics;
/// never leaks internals.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let response = try await answer(request, context: context, next: next)
        if response.status.code >= 400, let code = response.headers[ErrorMiddleware.codeHeader] {
            metrics.countError(LedgerError.Code(rawValue: code))
        }
        return response
    }

    /// Carries the error code from where a response is built to the metrics (a valid header
    /// token, so the fallback is never taken).
    static var codeHeader: HTTPField.Name { HTTPField.Name("X-Ledger-Error") ?? .server }

    private func answer(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as LedgerError {
            return error.response(includeLine: error.line != nil)
        } catch let error as HTTPError {
            let code: LedgerError.Code
            switch error.status {
            case .notFound: code = .notFound
            case .methodNotAllowed: code = .methodNotAllowed
            case .contentTooLarge: code = .payloadTooLarge
            case .badRequest: code = .invalidJSON
            default: code = .internal
            }
            return LedgerError(
                code,
                code == .notFound ? "no such call" : (error.body ?? "the request cannot be served")
            )
            .response(includeLine: false)
        } catch is NIOTooManyBytesError {
            return LedgerError(.payloadTooLarge, "the body is over 1 MiB").response(includeLine: false)
        } catch is HTTPParserError {
            // The client's request broke off or was malformed halfway through its body (for
            // example, cut off by the request timeout, or chunked framing that does not parse):
            // bad HTTP, the client's fault, not the server's. (Before a body, MalformedRequestHandler
            // answers.)
            context.logger.notice("a request broke off before its body was complete")
            return LedgerError(.badRequest, "the request's body broke off or is not well-formed HTTP/1.1")
                .response(includeLine: false)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(type(of: error))"])
            return LedgerError(.internal, "internal error").response(includeLine: false)
        }
    }
}
