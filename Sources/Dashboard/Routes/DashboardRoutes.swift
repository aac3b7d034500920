import HTTPTypes
import Hummingbird
import Ledger

/// The dashboard's pages and downloads. Every page is computed by the ``PageCache``, on the
/// dashboard's own thread, in short LMDB read transactions, from a fold kept between views: a page
/// never holds a request thread and never waits for, or holds up, the writer. A page and its CSV
/// share one model. Nothing here writes to the ledger.
struct DashboardRoutes: Sendable {
    let token: AccessToken
    /// The session cookie's name (``DashboardServer/cookieName``).
    let cookieName: String
    let sessions: SessionStore
    let renderer: PageRenderer
    let clock: any LedgerClock
    let pages: PageCache

    func register(on router: Router<BasicRequestContext>) {
        router.add(
            middleware: DashboardGate(cookieName: cookieName, sessions: sessions, renderer: renderer, clock: clock)
        )
        route(router, "/login") { request, _ in try login(request) }
        router.post("/logout") { request, _ in logout(request) }
        route(router, "/") { request, _ in
            let asOf = try asOf(request)
            let order = try ClockPage.Order(parsing: request.uri.queryParameters.get("sort"))
            return HTMLResponse.make(renderer.clock(try await clockPage(asOf), order: order, asOf: asOf))
        }
        route(router, "/requests.csv") { request, _ in
            let asOf = try asOf(request)
            let order = try ClockPage.Order(parsing: request.uri.queryParameters.get("sort"))
            return HTMLResponse.csv(
                CSVExports.requests(try await clockPage(asOf).sorted(order)),
                filename: "open-requests-\(asOf.date).csv"
            )
        }
        route(router, "/requests/:id") { request, context in
            let asOf = try asOf(request)
            let id = context.parameters.get("id") ?? ""
            let missing = DashboardError(.notFound, "no request with this id had been recorded by then")
            // Only an id of the form the ledger writes can name one (and a model to keep).
            guard TimelinePage.isRequestId(id) else { throw missing }
            guard
                let page = try await pages.page(
                    "timeline/" + id,
                    asOf: asOf.time,
                    { ledger, fold, _ in
                        try TimelinePage.load(from: ledger, fold: fold, requestId: id, asOf: asOf.time)
                    }
                )
            else { throw missing }
            return HTMLResponse.make(renderer.timeline(page, asOf: asOf))
        }
        route(router, "/consent") { request, _ in
            let asOf = try asOf(request)
            return HTMLResponse.make(renderer.consent(try await consentPage(asOf), asOf: asOf))
        }
        route(router, "/consent.csv") { request, _ in
            let asOf = try asOf(request)
            return HTMLResponse.csv(
                CSVExports.consent(try await consentPage(asOf)),
                filename: "consent-\(asOf.date).csv"
            )
        }
        route(router, "/consent-notices.csv") { request, _ in
            let asOf = try asOf(request)
            return HTMLResponse.csv(
                CSVExports.notices(try await consentPage(asOf)),
                filename: "consent-by-notice-\(asOf.date).csv"
            )
        }
        route(router, "/expiring.csv") { request, _ in
            let asOf = try asOf(request)
            return HTMLResponse.csv(
                CSVExports.expiring(try await consentPage(asOf)),
                filename: "consents-expiring-\(asOf.date).csv"
            )
        }
        route(router, "/erasures") { request, _ in
            let asOf = try asOf(request)
            return HTMLResponse.make(renderer.erasures(try await erasuresPage(asOf), asOf: asOf))
        }
        route(router, "/erasures.csv") { request, _ in
            let asOf = try asOf(request)
            return HTMLResponse.csv(
                CSVExports.erasures(try await erasuresPage(asOf)),
                filename: "erasures-\(asOf.date).csv"
            )
        }
        route(router, "/integrity") { request, _ in
            let asOf = try asOf(request)
            return HTMLResponse.make(renderer.integrity(try await integrityPage(asOf), asOf: asOf))
        }
        route(router, "/witnesses.csv") { request, _ in
            let asOf = try asOf(request)
            return HTMLResponse.csv(
                CSVExports.witnesses(try await integrityPage(asOf)),
                filename: "witnesses-\(asOf.date).csv"
            )
        }
    }

    private func clockPage(_ asOf: AsOf) async throws -> ClockPage {
        try await pages.page("clock", asOf: asOf.time) { _, fold, _ in ClockPage(fold: fold, asOf: asOf.time) }
    }

    private func consentPage(_ asOf: AsOf) async throws -> ConsentPage {
        try await pages.page("consent", asOf: asOf.time) { ledger, fold, catalogue in
            ConsentPage(
                fold: fold,
                activity: try WeeklyActivity.read(from: ledger, asOf: asOf.time),
                catalogue: catalogue
            )
        }
    }

    private func erasuresPage(_ asOf: AsOf) async throws -> ErasuresPage {
        try await pages.page("erasures", asOf: asOf.time) { _, fold, _ in ErasuresPage(fold: fold, asOf: asOf.time) }
    }

    /// Not kept: the witnesses' cosignatures and the integrity status file change without the log.
    private func integrityPage(_ asOf: AsOf) async throws -> IntegrityPage {
        try await pages.page(nil, asOf: asOf.time) { ledger, fold, _ in
            try IntegrityPage.load(from: ledger, fold: fold, asOf: asOf.time)
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
}
