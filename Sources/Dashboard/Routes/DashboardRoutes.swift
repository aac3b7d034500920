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
            let asOf = try await asOf(request)
            let order = try ClockPage.Order(parsing: request.uri.queryParameters.get("sort"))
            return HTMLResponse.make(try await show(.clock, asOf) { renderer.clock($0, order: order, asOf: asOf) })
        }
        route(router, "/requests.csv") { request, _ in
            let asOf = try await asOf(request)
            let order = try ClockPage.Order(parsing: request.uri.queryParameters.get("sort"))
            return HTMLResponse.csv(
                try await show(.clock, asOf) { CSVExports.requests($0.sorted(order)).text },
                filename: "open-requests-\(asOf.date).csv"
            )
        }
        route(router, "/requests/:id") { request, context in
            let asOf = try await asOf(request)
            let id = context.parameters.get("id") ?? ""
            let missing = DashboardError(.notFound, "no request with this id had been recorded by then")
            // Only an id of the form the ledger writes can name one (and a model to keep).
            guard TimelinePage.isRequestId(id) else { throw missing }
            let html = try await pages.page(
                asOf.queryValue == nil ? nil : "timeline/" + id,
                asOf: asOf.time,
                { ledger, fold, _ in try TimelinePage.load(from: ledger, fold: fold, requestId: id, asOf: asOf.time) },
                present: { page in page.map { renderer.timeline($0, asOf: asOf) } }
            )
            guard let html else { throw missing }
            return HTMLResponse.make(html)
        }
        route(router, "/consent") { request, _ in
            let asOf = try await asOf(request)
            return HTMLResponse.make(try await show(.consent, asOf) { renderer.consent($0, asOf: asOf) })
        }
        csv(router, "/consent.csv", "consent", .consent) { CSVExports.consent($0) }
        csv(router, "/consent-notices.csv", "consent-by-notice", .consent) { CSVExports.notices($0) }
        csv(router, "/expiring.csv", "consents-expiring", .consent) { CSVExports.expiring($0) }
        route(router, "/erasures") { request, _ in
            let asOf = try await asOf(request)
            return HTMLResponse.make(try await show(.erasures, asOf) { renderer.erasures($0, asOf: asOf) })
        }
        csv(router, "/erasures.csv", "erasures", .erasures) { CSVExports.erasures($0) }
        route(router, "/integrity") { request, _ in
            let asOf = try await asOf(request)
            return HTMLResponse.make(try await show(.integrity, asOf) { renderer.integrity($0, asOf: asOf) })
        }
        csv(router, "/witnesses.csv", "witnesses", .integrity) { CSVExports.witnesses($0) }
    }

    /// Registers the CSV download `path`: the table `table` makes of `kind`'s page, written on the
    /// dashboard's thread, named `<name>-<date>.csv`.
    private func csv<Model: Sendable>(
        _ router: Router<BasicRequestContext>,
        _ path: RouterPath,
        _ name: String,
        _ kind: PageKind<Model>,
        _ table: @escaping @Sendable (Model) -> CSVTable
    ) {
        route(router, path) { request, _ in
            let asOf = try await asOf(request)
            return HTMLResponse.csv(try await show(kind, asOf) { table($0).text }, filename: "\(name)-\(asOf.date).csv")
        }
    }

    /// Shows `kind`'s page at `asOf` as `present` makes it, on the dashboard's thread.
    private func show<Model: Sendable, Output: Sendable>(
        _ kind: PageKind<Model>,
        _ asOf: AsOf,
        _ present: @escaping @Sendable (Model) throws -> Output
    ) async throws -> Output {
        // A view of now is never asked for again (its moment has passed by the next), so only a
        // past date's model is kept.
        try await pages.page(
            asOf.queryValue == nil ? nil : kind.name,
            asOf: asOf.time,
            kind.build(asOf.time),
            present: present
        )
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

    /// The request's `asOf`, now when it has none: where the pages' "now" is decided, as the later
    /// of the clock's time and the head event's `recordedAt` (``PageCache/now(by:)``), so that
    /// after the clock steps back a view of now still shows every event recorded.
    private func asOf(_ request: Request) async throws -> AsOf {
        guard let text = request.uri.queryParameters.get("asOf"), !text.isEmpty else {
            return AsOf(now: try await pages.now(by: clock))
        }
        return try AsOf(parsing: text, now: clock.now())
    }
}

/// A page the dashboard keeps by name: how its model is made at a moment from the ledger, the
/// fold of the events recorded by then and the catalogue (``PageCache/page(_:asOf:_:present:)``).
struct PageKind<Model: Sendable>: Sendable {
    /// The name its models are kept under; `nil` for a page made afresh each time.
    let name: String?
    /// The model's maker at a moment.
    let build: @Sendable (Timestamp) -> @Sendable (Ledger, LedgerFold, Catalogue) throws -> Model

    static var clock: PageKind<ClockPage> {
        PageKind<ClockPage>(name: "clock") { asOf in { _, fold, _ in ClockPage(fold: fold, asOf: asOf) } }
    }

    static var consent: PageKind<ConsentPage> {
        PageKind<ConsentPage>(name: "consent") { asOf in
            { ledger, fold, catalogue in
                ConsentPage(
                    fold: fold,
                    activity: try WeeklyActivity.read(from: ledger, asOf: asOf),
                    catalogue: catalogue
                )
            }
        }
    }

    static var erasures: PageKind<ErasuresPage> {
        PageKind<ErasuresPage>(name: "erasures") { asOf in { _, fold, _ in ErasuresPage(fold: fold, asOf: asOf) } }
    }

    /// Not kept: the witnesses' cosignatures and the integrity status file change without the log.
    static var integrity: PageKind<IntegrityPage> {
        PageKind<IntegrityPage>(name: nil) { asOf in
            { ledger, fold, _ in try IntegrityPage.load(from: ledger, fold: fold, asOf: asOf) }
        }
    }
}
