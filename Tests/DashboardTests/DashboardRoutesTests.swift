import Dashboard
import Foundation
import HTTPTypes
import HummingbirdTesting
import Ledger
import Logging
import Testing

/// The dashboard over HTTP (Hummingbird's router test client): refused without the token or with
/// a wrong one, logged in with it, the cookie's attributes, the security headers on every answer,
/// the as-of picker, malformed `asOf`, the CSV downloads.
struct DashboardRoutesTests {
    @Test func withoutASessionEveryPathIsRefused() async throws {
        let fixture = try DashboardFixture()
        let dashboard = try fixture.dashboard()
        try await dashboard.makeApplication().test(.router) { client in
            for path in [
                "/", "/consent", "/integrity", "/erasures", "/requests.csv", "/consent.csv", "/consent-notices.csv",
                "/expiring.csv", "/erasures.csv", "/witnesses.csv", "/requests/x", "/nothing-here",
                "/?asOf=2025-06-30", "/login", "/login?token=", "/login?token=\(String(repeating: "0", count: 64))",
                "/login?token=\(DashboardFixture.token.uppercased())", "/login?token=\(DashboardFixture.token)x",
            ] {
                let reply = try await client.get(path)
                #expect(reply.status == 401, "\(path)")
                #expect(reply.headers[.setCookie] == nil, "\(path)")
                #expect(reply.text.contains("login URL") && reply.text.contains("unauthorized"), "\(path)")
                #expect(reply.text.contains("dashboard.token"), "\(path)")
                #expect(!reply.text.contains("<nav>"), "\(path): nothing of the dashboard shows")
                Self.expectSecurityHeaders(reply, path)
            }
            // A forged or stale session cookie is no better.
            let forged = try await client.get(
                "/",
                cookie: dashboard.cookieName + "=" + String(repeating: "a", count: 64)
            )
            #expect(forged.status == 401)
        }
    }

    @Test func theTokenLogsInWithAStrictHttpOnlyCookie() async throws {
        let fixture = try DashboardFixture()
        let dashboard = try fixture.dashboard()
        #expect(dashboard.cookieName == "ledger_dashboard_" + fixture.ledger.ledgerId.prefix(8))
        try await dashboard.makeApplication().test(.router) { client in
            let login = try await client.get("/login?token=\(DashboardFixture.token)")
            #expect(login.status == 303 && login.headers[.location] == "/")
            Self.expectSecurityHeaders(login, "/login")
            let setCookie = try #require(login.headers[.setCookie])
            let attributes = Set(
                setCookie.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) }
            )
            #expect(attributes == ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"], "\(setCookie)")
            let cookie = try #require(setCookie.split(separator: ";").first.map(String.init))
            #expect(
                cookie.hasPrefix(dashboard.cookieName + "=")
                    && cookie.utf8.count == dashboard.cookieName.utf8.count + 65
            )
            #expect(!cookie.contains(DashboardFixture.token))
            for path in ["/", "/consent", "/erasures", "/integrity"] {
                let page = try await client.get(path, cookie: cookie)
                #expect(page.status == 200, "\(path)")
                #expect(page.headers[.contentType] == "text/html; charset=utf-8")
                #expect(page.text.contains("<nav>") && !page.text.lowercased().contains("<script"), "\(path)")
                #expect(!page.text.contains("http://") && !page.text.contains("https://"), "\(path): nothing to fetch")
                Self.expectSecurityHeaders(page, path)
            }
            // Logging out ends the session.
            let logout = try await client.execute(uri: "/logout", method: .post, headers: [.cookie: cookie])
            #expect(logout.status == 303 && (logout.headers[.setCookie] ?? "").contains("Max-Age=0"))
            #expect(try await client.get("/", cookie: cookie).status == 401)
        }
    }

    /// A view of now is made afresh each time (its moment has passed by the next view); a past
    /// date's model is kept and served again.
    @Test func onlyPastDatesModelsAreKept() async throws {
        let fixture = try DashboardFixture()
        let dashboard = try fixture.dashboard()
        try await dashboard.makeApplication().test(.router) { client in
            let cookie = try await client.logIn()
            for path in ["/", "/consent", "/erasures", "/requests.csv"] {
                #expect(try await client.get(path, cookie: cookie).status == 200, "\(path)")
            }
            #expect(dashboard.pages.statistics.models == 0)
            #expect(try await client.get("/?asOf=2025-06-30", cookie: cookie).status == 200)
            #expect(try await client.get("/requests.csv?asOf=2025-06-30", cookie: cookie).status == 200)
            #expect(dashboard.pages.statistics.models == 1)
        }
    }

    @Test func theAsOfPickerChangesTheFigures() async throws {
        let fixture = try DashboardFixture()
        try await fixture.dashboard().makeApplication().test(.router) { client in
            let cookie = try await client.logIn()
            let midYear = try await client.get("/?asOf=2025-06-30", cookie: cookie)
            let yearEnd = try await client.get("/?asOf=2025-12-31", cookie: cookie)
            let now = try await client.get("/", cookie: cookie)
            // The golden overdue counts: 2 at the end of June, 6 at the end of the year (= now).
            #expect(midYear.text.contains(#"<span class="count">2</span>Overdue"#))
            #expect(yearEnd.text.contains(#"<span class="count">6</span>Overdue"#))
            #expect(now.text.contains(#"<span class="count">6</span>Overdue"#))
            // The ends of the range RFC 3339 can write: nothing yet, and everything.
            for date in ["0000-01-01", "9999-12-31"] {
                for path in Self.everyPath {
                    #expect(
                        try await client.get("\(path)?asOf=\(date)", cookie: cookie).status == 200,
                        "\(path) \(date)"
                    )
                }
            }
            #expect(midYear.text.contains(#"value="2025-06-30""#) && midYear.text.contains("2025-06-30 23:59 UTC"))
            // Links keep the date.
            #expect(midYear.text.contains(#"href="/consent?asOf=2025-06-30""#))
            #expect(midYear.text.contains(#"href="/requests.csv?asOf=2025-06-30""#))
            let consentThen = try await client.get("/consent?asOf=2025-06-30", cookie: cookie)
            let consentNow = try await client.get("/consent", cookie: cookie)
            #expect(consentThen.text.contains(#"<td class="num">177</td><td class="num">88</td>"#))
            #expect(consentNow.text.contains(#"<td class="num">376</td><td class="num">177</td>"#))
            // The erasures and the consents expiring within 30 days, as the golden files have them.
            for date in [DashboardFixture.midYear, DashboardFixture.yearEnd] {
                let day = String(date.prefix(10))
                let erased = try DashboardFixture.goldenErasedCount(date)
                let erasures = try await client.get("/erasures?asOf=\(day)", cookie: cookie)
                #expect(
                    erasures.text.contains(#"<span class="count">\#(erased)</span>Erasures (keys shredded)"#),
                    "\(day)"
                )
                let expiring = try ConsentPage.load(from: fixture.ledger, asOf: try DashboardFixture.time(date))
                    .expiring
                let consent = try await client.get("/consent?asOf=\(day)", cookie: cookie)
                #expect(consent.text.contains("Expiring in the next 30 days (\(expiring.count), to"), "\(day)")
                #expect(expiring.allSatisfy { consent.text.contains(#"<td class="mono">\#($0.pseudonym)</td>"#) })
            }
            let integrityThen = try await client.get("/integrity?asOf=2025-06-30T23:59:59.999Z", cookie: cookie)
            #expect(integrityThen.text.contains("<dt>Seq</dt><dd>1094</dd>"))
            #expect(try await client.get("/integrity", cookie: cookie).text.contains("<dt>Seq</dt><dd>2269</dd>"))
        }
    }

    @Test func aMalformedAsOfIs400WithAStableCodeOnEveryPage() async throws {
        let fixture = try DashboardFixture()
        try await fixture.dashboard().makeApplication().test(.router) { client in
            let cookie = try await client.logIn()
            for path in Self.everyPath {
                for value in ["yesterday", "2025-02-30", "%3Cscript%3E"] {
                    let reply = try await client.get(path + "?asOf=" + value, cookie: cookie)
                    #expect(reply.status == 400, "\(path) \(value)")
                    #expect(reply.text.contains("<code>invalid_field</code>"), "\(path) \(value)")
                    #expect(reply.text.contains(AsOf.malformed.message), "\(path) \(value)")
                    #expect(!reply.text.contains("<script>") && !reply.text.contains("yesterday"))
                    Self.expectSecurityHeaders(reply, path)
                }
            }
        }
    }

    @Test func requestPagesUnknownPathsAndOtherMethods() async throws {
        let fixture = try DashboardFixture()
        let open = try ClockPage.load(from: fixture.ledger, asOf: try DashboardFixture.time(DashboardFixture.yearEnd))
        let row = try #require(open.rows.first)
        try await fixture.dashboard().makeApplication().test(.router) { client in
            let cookie = try await client.logIn()
            let clock = try await client.get("/", cookie: cookie)
            #expect(clock.text.contains(#"href="/requests/\#(row.requestId)""#))
            let timeline = try await client.get("/requests/\(row.requestId)", cookie: cookie)
            #expect(timeline.status == 200 && timeline.text.contains(row.pseudonym))
            #expect(timeline.text.contains("<code>\(row.kind.rawValue).requested</code>"))
            for path in ["/requests/00000000-0000-4000-8000-000000000000", "/requests/%2E%2E", "/nothing-here"] {
                let reply = try await client.get(path, cookie: cookie)
                #expect(reply.status == 404 && reply.text.contains("<code>not_found</code>"), "\(path)")
                Self.expectSecurityHeaders(reply, path)
            }
            // The request was made after the end of June? Then it was not there yet.
            if row.openedAt > (try DashboardFixture.time(DashboardFixture.midYear)) {
                let before = try await client.get("/requests/\(row.requestId)?asOf=2025-06-30", cookie: cookie)
                #expect(before.status == 404)
            }
            for method in [HTTPRequest.Method.post, .put, .delete] {
                let reply = try await client.execute(uri: "/", method: method, headers: [.cookie: cookie])
                #expect(reply.status == 405 && reply.text.contains("method_not_allowed"))
            }
        }
    }

    @Test func theClocksTableSortsByDaysLeftEitherWay() async throws {
        let fixture = try DashboardFixture()
        let page = try ClockPage.load(from: fixture.ledger, asOf: try DashboardFixture.time(DashboardFixture.midYear))
        let ids = page.rows.map(\.requestId)
        #expect(ids.count > 3)
        #expect(page.rows.map(\.daysLeft) == page.rows.map(\.daysLeft).sorted())
        try await fixture.dashboard().makeApplication().test(.router) { client in
            let cookie = try await client.logIn()
            func order(_ text: String) -> [String] {
                ids.compactMap { id in text.range(of: ">\(id)</a>").map { (id, $0.lowerBound) } }
                    .sorted { $0.1 < $1.1 }.map(\.0)
            }
            let fewest = try await client.get("/?asOf=2025-06-30", cookie: cookie)
            #expect(order(fewest.text) == ids)
            #expect(fewest.text.contains(#"href="/?sort=-daysLeft&amp;asOf=2025-06-30""#))
            let most = try await client.get("/?sort=-daysLeft&asOf=2025-06-30", cookie: cookie)
            #expect(order(most.text) == ids.reversed())
            #expect(most.text.contains(#"href="/?sort=daysLeft&amp;asOf=2025-06-30""#))
            #expect(most.text.contains(#"href="/requests.csv?sort=-daysLeft&amp;asOf=2025-06-30""#))
            // The same tiles either way.
            #expect(most.text.contains(#"<span class="count">2</span>Overdue"#))
            let csv = try await client.get("/requests.csv?sort=-daysLeft&asOf=2025-06-30", cookie: cookie)
            let rows = csv.text.components(separatedBy: "\r\n").dropFirst().filter { !$0.isEmpty }
            #expect(rows.map { String($0.prefix(36)) } == ids.reversed())
            for path in ["/?sort=days", "/requests.csv?sort=%3Cb%3E"] {
                let refused = try await client.get(path, cookie: cookie)
                #expect(refused.status == 400 && refused.text.contains("<code>invalid_field</code>"), "\(path)")
                #expect(!refused.text.contains("<b>") && !refused.text.contains("sort=days\""))
            }
        }
    }

    @Test func csvDownloadsHoldEveryRowQuotedAsRFC4180() async throws {
        let fixture = try DashboardFixture()
        let asOf = try DashboardFixture.time(DashboardFixture.midYear)
        let clock = try ClockPage.load(from: fixture.ledger, asOf: asOf)
        try await fixture.dashboard().makeApplication().test(.router) { client in
            let cookie = try await client.logIn()
            let requests = try await client.get("/requests.csv?asOf=2025-06-30", cookie: cookie)
            #expect(
                requests.status == 200 && requests.headers[.contentType] == "text/csv; charset=utf-8; header=present"
            )
            #expect(requests.headers[.contentDisposition] == #"attachment; filename="open-requests-2025-06-30.csv""#)
            Self.expectSecurityHeaders(requests, "/requests.csv")
            let lines = requests.text.components(separatedBy: "\r\n")
            #expect(
                lines.first
                    == "requestId,kind,pseudonym,openedAt,dueAt,daysLeft,daysOverdue,urgency,extended,extendedAt,originalDueAt,asOf"
            )
            #expect(lines.count == clock.rows.count + 2 && lines.last == "")
            #expect(!requests.text.replacing("\r\n", with: "").contains("\n"), "every line ends in CRLF")
            let overdue = lines.dropFirst().filter { $0.contains(",overdue,") }
            #expect(overdue.count == 2)
            #expect(!lines.dropFirst().contains { $0.contains(",-") || $0.contains(",'") })
            let consent = try await client.get("/consent.csv?asOf=2025-06-30", cookie: cookie)
            let consentLines = consent.text.components(separatedBy: "\r\n")
            #expect(consentLines.count == 11 + 2)
            #expect(
                consentLines[1]
                    == "newsletter,Newsletter,consent,177,88,0,0,0.668,\(try Self.weekTotal(fixture, "newsletter", asOf)),0,2025-06-30T23:59:59.999Z"
            )
            #expect(
                consentLines.contains {
                    $0.hasPrefix("web-analytics,Web analytics (Google Analytics),consent,91,0,88,0,")
                }
            )
            let consentPage = try ConsentPage.load(from: fixture.ledger, asOf: asOf)
            let notices = try await client.get("/consent-notices.csv?asOf=2025-06-30", cookie: cookie)
            let noticeLines = notices.text.components(separatedBy: "\r\n")
            #expect(noticeLines.first == "purpose,notice,granted,withdrawn,expired,optInRate,asOf")
            #expect(noticeLines.contains("newsletter,policy-v1,177,88,0,0.668,2025-06-30T23:59:59.999Z"))
            #expect(noticeLines.count == consentPage.purposes.reduce(0) { $0 + $1.notices.count } + 2)
            let expiring = try await client.get("/expiring.csv?asOf=2025-06-30", cookie: cookie)
            let expiringLines = expiring.text.components(separatedBy: "\r\n")
            #expect(expiringLines.first == "pseudonym,purpose,notice,grantedAt,expiresAt,daysLeft,asOf")
            #expect(expiringLines.count == consentPage.expiring.count + 2 && consentPage.expiring.count > 10)
            let first = try #require(consentPage.expiring.first)
            #expect(
                expiringLines[1]
                    == "\(first.pseudonym),\(first.purpose),policy-v1,\(first.grantedAt.rfc3339),\(first.expiresAt.rfc3339),\(first.daysLeft),2025-06-30T23:59:59.999Z"
            )
            let erasuresPage = try ErasuresPage.load(from: fixture.ledger, asOf: asOf)
            let erasures = try await client.get("/erasures.csv?asOf=2025-06-30", cookie: cookie)
            let erasureLines = erasures.text.components(separatedBy: "\r\n")
            #expect(erasureLines.first == "pseudonym,seq,erasedAt,requestId,requestedAt,daysToShred,asOf")
            #expect(erasureLines.count == erasuresPage.erasures + 2)
            let answered = try #require(erasuresPage.rows.first { $0.requestId != nil })
            let line = try #require(erasureLines.first { $0.hasPrefix(answered.pseudonym + ",") })
            let days = Double(try #require(answered.millisecondsToShred)) / 86_400_000
            #expect(
                line.contains(",\(try #require(answered.requestId)),") && line.contains(String(format: ",%.3f,", days))
            )
            let witnesses = try await client.get("/witnesses.csv?asOf=2025-06-30", cookie: cookie)
            #expect(witnesses.text == "witness,verifierKey,latestTreeSize,latestCosignedAt,cosignedLater,asOf\r\n")
            #expect(witnesses.headers[.contentDisposition] == #"attachment; filename="witnesses-2025-06-30.csv""#)
        }
    }

    /// After the clock steps back, "now" is the head event's `recordedAt` (the ledger reuses its
    /// last time then, SPEC §3), not the clock's earlier time: a view of now shows the events
    /// recorded after what the clock says, which a view at the clock's time does not.
    @Test func nowIsNeverBeforeTheHeadEventsRecordedAt() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("now-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let recorded = "2026-03-01T10:00:00.000Z"
        let clockSaysNow = "2026-03-01T09:00:00.000Z"  // an hour behind: the clock stepped back
        let ledger = try Ledger.create(
            at: directory + "/ledger",
            catalogue: nil,
            options: Ledger.Options(clock: FixedClock(recorded), initialMapSize: 64 << 20)
        ).ledger
        let requestId = "d0000000-0000-4000-8000-000000000007"
        let request = #"{"type":"access.requested","subject":"ida@example.com","eventId":"\#(requestId)"}"#
        _ = try ledger.append(
            [try ClientEvent.decode(json: Array(request.utf8), catalogue: try ledger.catalogue())],
            actor: "t"
        )
        #expect(try ledger.head().recordedAt?.rfc3339 == recorded)
        let dashboard = try DashboardServer(
            ledger: ledger,
            address: LoopbackAddress(host: "127.0.0.1", port: 0),
            token: AccessToken(random: FixedRandom(bytes: DashboardFixture.tokenBytes)),
            sessions: SessionStore(clock: FixedClock(clockSaysNow)),
            clock: FixedClock(clockSaysNow),
            logger: Logger(label: "dashboard-tests")
        )
        try await dashboard.makeApplication().test(.router) { client in
            let cookie = try await client.logIn()
            let now = try await client.get("/", cookie: cookie)
            #expect(now.status == 200)
            #expect(now.text.contains(#"href="/requests/\#(requestId)""#), "the page of now misses the request")
            #expect(now.text.contains("The ledger now: 2026-03-01 10:00 UTC."))
            let csv = try await client.get("/requests.csv", cookie: cookie)
            #expect(csv.text.contains(requestId))
            let timeline = try await client.get("/requests/\(requestId)", cookie: cookie)
            #expect(timeline.status == 200)
            // At the clock's own time the request was not recorded yet.
            let atTheClock = try await client.get("/?asOf=2026-03-01T09:00:00Z", cookie: cookie)
            #expect(atTheClock.status == 200 && !atTheClock.text.contains(requestId))
        }
    }

    /// Every page and download but the timelines.
    static let everyPath = [
        "/", "/consent", "/erasures", "/integrity", "/requests.csv", "/consent.csv", "/consent-notices.csv",
        "/expiring.csv", "/erasures.csv", "/witnesses.csv",
    ]

    /// "grants,withdrawals" of the 12 weeks to `asOf` for `purpose`.
    static func weekTotal(_ fixture: DashboardFixture, _ purpose: String, _ asOf: Timestamp) throws -> String {
        let activity = try WeeklyActivity.read(from: fixture.ledger, asOf: asOf)
        return "\(activity.grants(of: purpose).reduce(0, +)),\(activity.withdrawals(of: purpose).reduce(0, +))"
    }

    /// Every response carries the policy that lets nothing load or run, and no caching or framing.
    static func expectSecurityHeaders(_ reply: Reply, _ path: String, sourceLocation: SourceLocation = #_sourceLocation)
    {
        let csp = reply.header("Content-Security-Policy") ?? ""
        #expect(
            csp.hasPrefix("default-src 'none'; style-src 'unsafe-inline'; img-src data:"),
            "\(path)",
            sourceLocation: sourceLocation
        )
        #expect(!csp.contains("script-src"), "\(path)", sourceLocation: sourceLocation)
        #expect(reply.header("X-Frame-Options") == "DENY", "\(path)", sourceLocation: sourceLocation)
        #expect(reply.header("Cache-Control") == "no-store", "\(path)", sourceLocation: sourceLocation)
        #expect(reply.header("X-Content-Type-Options") == "nosniff", "\(path)", sourceLocation: sourceLocation)
        #expect(reply.header("Referrer-Policy") == "no-referrer", "\(path)", sourceLocation: sourceLocation)
    }
}

/// One answer of the dashboard.
struct Reply: Sendable {
    let status: Int
    let headers: HTTPFields
    let text: String

    /// A header by name.
    func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { headers[$0] } }
}

extension TestClientProtocol {
    /// Sends a request and collects its answer.
    func execute(uri: String, method: HTTPRequest.Method, headers: HTTPFields = [:]) async throws -> Reply {
        let response = try await executeRequest(uri: uri, method: method, headers: headers, body: nil)
        return Reply(
            status: Int(response.status.code),
            headers: response.headers,
            text: String(buffer: response.body)
        )
    }

    /// `GET path`, with the session `cookie` when given.
    func get(_ path: String, cookie: String? = nil) async throws -> Reply {
        try await execute(uri: path, method: .get, headers: cookie.map { [.cookie: $0] } ?? [:])
    }

    /// Logs in with the fixture dashboard's token: the cookie to send (`name=value`).
    func logIn() async throws -> String {
        let reply = try await get("/login?token=\(DashboardFixture.token)")
        #expect(reply.status == 303)
        return try #require(reply.headers[.setCookie]?.split(separator: ";").first.map(String.init))
    }
}
