import Foundation
import Ledger
import LedgerClient

extension UnixHTTPClient.Reply {
    /// The error object of a refused call, as a ``LedgerError``; `nil` for a success.
    var error: LedgerError? {
        guard status >= 400 else { return nil }
        guard let error = JSONValue.parse(body)?["error"], let code = error["code"]?.stringValue else {
            return LedgerError(.internal, "the server answered \(status)")
        }
        return LedgerError(LedgerError.Code(rawValue: code), error["message"]?.stringValue ?? "")
    }
}

extension UnixHTTPClient {
    /// Sends a call to the running server, turning transport failures into `io_error`.
    func call(_ method: String, _ path: String, json: String) throws -> Reply {
        do {
            return try send(method: method, path: path, body: json)
        } catch let failure as Failure {
            throw LedgerError(.ioError, failure.description)
        }
    }
}
