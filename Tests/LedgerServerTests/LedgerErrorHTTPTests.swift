import Foundation
import Hummingbird
import HummingbirdTesting
import Ledger
import Testing

@testable import LedgerServer

/// The error mapping at the HTTP edge (SPEC §7): every ``LedgerError`` code, thrown by a handler,
/// is answered with a 4xx or 5xx and the error object naming the code.
struct LedgerErrorHTTPTests {
    /// The statuses SPEC §7's table gives; every other code is a fault of the ledger (5xx).
    static let specStatuses: [String: Int] = [
        "invalid_json": 400, "unknown_field": 400, "missing_field": 400, "invalid_field": 400, "unknown_type": 400,
        "bad_request": 400, "invalid_catalogue": 400, "unreadable_input": 400, "forbidden": 403, "not_found": 404,
        "subject_not_found": 404, "method_not_allowed": 405, "event_id_conflict": 409, "payload_too_large": 413,
        "batch_too_large": 413, "unknown_purpose": 422, "purpose_not_consent_based": 422, "unknown_notice": 422,
        "occurred_in_future": 422, "request_not_open": 422, "internal": 500, "ledger_full": 507,
        "ledger_locked": 503, "too_many_connections": 503,
    ]

    /// A router whose `/fail/<code>` throws that code, behind the server's error middleware.
    private func failingApplication() -> some ApplicationProtocol {
        let router = Router(context: LedgerRequestContext.self)
        router.add(middleware: ErrorMiddleware(metrics: ServerMetrics()))
        router.get("/fail/:code") { _, context -> Response in
            let code = context.parameters.get("code") ?? ""
            throw LedgerError(LedgerError.Code(rawValue: code), "refused for the test")
        }
        router.get("/crash") { _, _ -> Response in throw CocoaError(.fileReadCorruptFile) }
        return Application(router: router)
    }

    @Test func everyCodeIsAnsweredWithAnErrorStatusAndItsCode() async throws {
        try await failingApplication().test(.router) { client in
            for code in LedgerError.Code.all {
                let reply = try await client.call(.get, "/fail/\(code.rawValue)")
                #expect((400..<600).contains(reply.status), "\(code.rawValue)")
                #expect(reply.errorCode == code.rawValue)
                #expect((reply.json?["error"] as? [String: Any])?["message"] as? String == "refused for the test")
                #expect(reply.headers[.contentType] == "application/json")
                if let status = Self.specStatuses[code.rawValue] {
                    #expect(reply.status == status, "\(code.rawValue)")
                } else {
                    #expect(reply.status == 500, "\(code.rawValue)")
                }
            }
        }
    }

    @Test func everyCodeOfTheSpecTableIsACode() {
        let known = Set(LedgerError.Code.all.map(\.rawValue))
        #expect(Set(Self.specStatuses.keys).subtracting(known).isEmpty)
    }

    @Test func anErrorThatIsNoLedgerErrorIs500InternalAndTellsNothing() async throws {
        try await failingApplication().test(.router) { client in
            let reply = try await client.call(.get, "/crash")
            #expect(reply.status == 500)
            #expect(reply.errorCode == "internal")
            #expect((reply.json?["error"] as? [String: Any])?["message"] as? String == "internal error")
        }
    }

    @Test func aBatchErrorNamesItsLineAndASingleEventsDoesNot() throws {
        let error = LedgerError(.unknownField, "unknown field", line: 3)
        #expect(error.response(includeLine: true).status.code == 400)
        #expect(error.json["error"]?["line"] == .int(3))
        var single = error
        single.line = nil
        #expect(single.json["error"]?["line"] == nil)
    }
}
