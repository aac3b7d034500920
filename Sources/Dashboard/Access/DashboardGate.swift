import HTTPTypes
import Hummingbird
import Ledger

/// The middleware every dashboard request passes through, first:
///
/// - a request whose `Host` is not this machine's loopback is refused (421), so a web page that
///   rebinds its own name to 127.0.0.1 cannot read the dashboard;
/// - every path but `/login` and `/logout` needs a valid session cookie, else 401 — unknown paths
///   included, so that nothing about the dashboard shows before login;
/// - every refusal and failure becomes an error page with its stable code;
/// - every response, error pages included, carries the security headers (``SecurityHeaders``).
struct DashboardGate<Context: RequestContext>: RouterMiddleware {
    /// Paths served without a session.
    static var openPaths: Set<String> { ["/login", "/logout"] }

    /// The session cookie's name (``DashboardServer/cookieName``).
    let cookieName: String
    let sessions: SessionStore
    let renderer: PageRenderer
    let clock: any LedgerClock

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var signedIn = false
        var response: Response
        do {
            guard let authority = request.head.authority, Self.isLoopback(authority: authority) else {
                throw DashboardError(.misdirected, "the dashboard answers only to 127.0.0.1, [::1] or localhost")
            }
            signedIn = request.cookies[cookieName].map { sessions.isValid($0.value) } ?? false
            guard signedIn || Self.openPaths.contains(request.uri.path) else { throw DashboardError.loginRequired }
            response = try await next(request, context)
        } catch {
            let refusal = Self.dashboardError(error)
            if refusal.code == .internal {
                // The refusal's message (a ledger error's holds no personal data) and the error's
                // type: nothing of the request's path, query or cookie.
                context.logger.error(
                    "a dashboard page failed: \(refusal.message)",
                    metadata: ["error": "\(type(of: error))"]
                )
            }
            response = errorPage(refusal, for: request, signedIn: signedIn)
        }
        for field in SecurityHeaders.fields { response.headers[field.name] = field.value }
        return response
    }

    /// The page for `error`: inside the dashboard's frame for someone logged in.
    private func errorPage(_ error: DashboardError, for request: Request, signedIn: Bool) -> Response {
        let html: String
        if signedIn {
            let now = clock.now()
            let asOf = (try? AsOf(parsing: request.uri.queryParameters.get("asOf"), now: now)) ?? AsOf(now: now)
            html = renderer.error(error, path: "/", asOf: asOf)
        } else {
            html = renderer.error(error)
        }
        return HTMLResponse.make(html, status: error.status)
    }

    /// `error` as the dashboard shows it; anything not the dashboard's or the ledger's own is
    /// named only by its status, never by its description.
    static func dashboardError(_ error: any Error) -> DashboardError {
        switch error {
        case let error as DashboardError: return error
        case let error as LedgerError: return DashboardError(error)
        case let error as HTTPError where error.status == .notFound:
            return DashboardError(.notFound, "the dashboard has no such page")
        case let error as HTTPError where error.status == .methodNotAllowed:
            return DashboardError(.methodNotAllowed, "the dashboard only reads: use GET")
        default:
            return DashboardError(.internal, "the page could not be made")
        }
    }

    /// Whether a `Host` value (`name[:port]`) names the loopback.
    static func isLoopback(authority: String) -> Bool {
        var host = Substring(authority)
        var port: Substring?
        if host.hasPrefix("[") {
            guard let end = host.firstIndex(of: "]") else { return false }
            let rest = host[host.index(after: end)...]
            if !rest.isEmpty {
                guard rest.first == ":" else { return false }
                port = rest.dropFirst()
            }
            host = host[...end]
        } else if let colon = host.lastIndex(of: ":") {
            port = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        if let port, port.isEmpty || !port.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) { return false }
        return LoopbackAddress.isLoopbackName(String(host))
    }
}

/// What every dashboard response carries: a Content-Security-Policy that allows no script, no
/// frame, no network load and no form target but the dashboard itself (inline style and `data:`
/// images only), and no framing, caching, content sniffing or referrer.
enum SecurityHeaders {
    /// The policy: nothing may load but the page's own inline style and `data:` images.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'"

    /// The header fields.
    static let fields: HTTPFields = {
        var fields = HTTPFields()
        fields[.contentSecurityPolicy] = contentSecurityPolicy
        fields[.cacheControl] = "no-store"
        fields[.xContentTypeOptions] = "nosniff"
        for (name, value) in [("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer")] {
            // Both names are valid field names; a test checks that every response carries them.
            if let name = HTTPField.Name(name) { fields[name] = value }
        }
        return fields
    }()
}

/// HTML and CSV responses.
enum HTMLResponse {
    /// `html` as a `text/html` response.
    static func make(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: html))
        )
    }

    /// A CSV table's `text` as a download named `filename`.
    static func csv(_ text: String, filename: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/csv; charset=utf-8; header=present",
                .contentDisposition: "attachment; filename=\"\(filename)\"",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }
}

/// The dashboard's rule for a request's `Host` (what ``DashboardGate`` applies), for tests.
package enum DashboardHostCheck {
    /// Whether a request naming `authority` as its host is answered: a loopback name or address,
    /// with a numeric port or none; `nil` (no `Host`) is not.
    package static func names(authority: String?) -> Bool {
        guard let authority else { return false }
        return DashboardGate<BasicRequestContext>.isLoopback(authority: authority)
    }
}
