import HTTPTypes
import Ledger

/// Why the dashboard refused a request: a stable code, a message a person can act on, and the
/// HTTP status the error page is sent with.
///
/// Messages never hold personal data, tokens or session ids, and never echo what the request
/// carried: they name the parameter and the form it takes.
package struct DashboardError: Error, Sendable, Equatable {
    /// A stable error code; `invalid_field`, `not_found` and `method_not_allowed` are spelled as
    /// the socket API spells them (SPEC §7).
    package struct Code: RawRepresentable, Hashable, Sendable {
        /// The code as the error page shows it.
        package let rawValue: String
        /// A code from its spelling.
        package init(rawValue: String) { self.rawValue = rawValue }

        /// 401: no valid session, or a wrong or missing login token.
        package static let unauthorized = Code(rawValue: "unauthorized")
        /// 400: a query parameter is malformed (`asOf`, the clock's `sort`).
        package static let invalidField = Code(rawValue: "invalid_field")
        /// 404: no such page or request.
        package static let notFound = Code(rawValue: "not_found")
        /// 405: the dashboard only reads (`GET`), apart from logging out.
        package static let methodNotAllowed = Code(rawValue: "method_not_allowed")
        /// 421: the request named a host that is not this machine's loopback (DNS rebinding).
        package static let misdirected = Code(rawValue: "misdirected_request")
        /// 500: the ledger could not be read.
        package static let `internal` = Code(rawValue: "internal")
    }

    /// The stable code.
    package var code: Code
    /// An explanation without personal data.
    package var message: String

    /// An error with `code` and `message`.
    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The error a page shows for a ledger error met while reading: a refused value stays a
    /// refusal of the request (`invalid_field` 400, `not_found` 404); anything else is the
    /// ledger's fault (500), shown with its code, whose message holds no personal data either.
    package init(_ error: LedgerError) {
        switch error.code {
        case .invalidField: self.init(.invalidField, error.message)
        case .notFound, .subjectNotFound: self.init(.notFound, error.message)
        default: self.init(.internal, "the ledger could not be read (\(error.code.rawValue)): \(error.message)")
        }
    }

    /// The HTTP status of the error page.
    package var status: HTTPResponse.Status {
        switch code {
        case .unauthorized: return .unauthorized
        case .invalidField: return .badRequest
        case .notFound: return .notFound
        case .methodNotAllowed: return .methodNotAllowed
        case .misdirected: return .misdirectedRequest
        default: return .internalServerError
        }
    }

    /// The refusal of a request without a valid session or with a wrong token: the same for both,
    /// so that nothing tells a wrong token from an expired session.
    package static let loginRequired = DashboardError(
        .unauthorized,
        "Open the login URL that ledgerctl serve --dashboard printed when it started; the token in it is also in the file dashboard.token in the ledger's directory."
    )
}
