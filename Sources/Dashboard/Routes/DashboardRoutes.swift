import HTTPTypes
import Hummingbird
import Ledger
import NIOPosix

/// The dashboard's pages and downloads. Every ledger read runs on NIO's thread pool, in its own
/// short LMDB read transactions, so a page never holds a request thread and never waits for, or
/// holds up, the writer. Nothing here writes to the ledger.
struct DashboardRoutes: Sendable {
    let ledger: Ledger
    let token: AccessToken
    /// The session cookie's name (``DashboardServer/cookieName``).
    let cookieName: String
    let sessions: SessionStore
    let renderer: PageRenderer
    let clock: any LedgerClock

    func register(on router: Router<BasicRequestContext>) {
        router.add(
            middleware: DashboardGate(cookieName: cookieName, sessions: sessions, renderer: renderer, clock: clock)
        )
        route(router, "/login") { request, _ in try login(request) }
        router.post("/logout") { request, _ in logout(request) }
        route(router, "/") { request, _ in
            let asOf = try asOf(request)
            let page = try await blocking { try ClockPage.load(from: ledger, asOf: asOf.time) }
            return HTMLResponse.make(renderer.clock(page, asOf: asOf))
        }
        route(router, "/requests/:id") { request, context in
            let asOf = try asOf(request)
            let id = context.parameters.get("id") ?? ""
            guard let page = try await blocking({ try TimelinePage.load(from: ledger, requestId: id, asOf: asOf.time) })
            else { throw DashboardError(.notFound, "no request with this id had been recorded by then") }
            return HTMLResponse.make(renderer.timeline(page, asOf: asOf))
        }
        route(router, "/consent") { request, _ in
            let asOf = try asOf(request)
            let page = try await blocking { try ConsentPage.load(from: ledger, asOf: asOf.time) }
            return HTMLResponse.make(renderer.consent(page, asOf: asOf))
        }
        route(router, "/integrity") { request, _ in
            let asOf = try asOf(request)
            let page = try await blocking { try IntegrityPage.load(from: ledger, asOf: asOf.time) }
            return HTMLResponse.make(renderer.integrity(page, asOf: asOf))
        }
        route(router, "/requests.csv") { request, _ in
            let asOf = try asOf(request)
            let page = try await blocking { try ClockPage.load(from: ledger, asOf: asOf.time) }
            return HTMLResponse.csv(CSVExports.requests(page), filename: "open-requests-\(asOf.date).csv")
        }
        route(router, "/consent.csv") { request, _ in
            let asOf = try asOf(request)
            let page = try await blocking { try ConsentPage.load(from: ledger, asOf: asOf.time) }
            return HTMLResponse.csv(CSVExports.consent(page), filename: "consent-\(asOf.date).csv")
        }
    }

    /// Registers `handler` for GET, and 405 for the methods that would change something.
    private func route(
        _ router: Router<BasicRequestContext>,
        _ path: RouterPath,
        _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response
    ) {
        router.get(path, use: handler)
        for method in [HTTPRequest.Method.post, .put, .delete, .patch] {
            router.on(path, method: method) { _, _ -> Response in
                throw DashboardError(.methodNotAllowed, "the dashboard only reads: use GET")
            }
        }
    }

    /// `GET /login?token=…`: the right token opens a session and goes to the clock; any other is
    /// refused like a missing session.
    private func login(_ request: Request) throws -> Response {
        guard let given = request.uri.queryParameters.get("token"), token.matches(given) else {
            throw DashboardError.loginRequired
        }
        var response = Response(status: .seeOther, headers: [.location: "/"])
        response.setCookie(
            Cookie(
                name: cookieName,
                value: sessions.open(),
                maxAge: Int(sessions.lifetime / 1000),
                path: "/",
                httpOnly: true,
                sameSite: .strict
            )
        )
        return response
    }

    /// `POST /logout`: ends the session, if any, clears the cookie and goes back to the start.
    private func logout(_ request: Request) -> Response {
        if let cookie = request.cookies[cookieName] { sessions.close(cookie.value) }
        var response = Response(status: .seeOther, headers: [.location: "/"])
        response.setCookie(
            Cookie(
                name: cookieName,
                value: "",
                maxAge: 0,
                path: "/",
                httpOnly: true,
                sameSite: .strict
            )
        )
        return response
    }

    /// The request's `asOf`, now when it has none.
    private func asOf(_ request: Request) throws(DashboardError) -> AsOf {
        try AsOf(parsing: request.uri.queryParameters.get("asOf"), now: clock.now())
    }

    /// Runs blocking ledger reads on NIO's thread pool.
    private func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}
