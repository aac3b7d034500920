import Foundation
import GoldenFixture
import Testing

/// Debian's Chromium, if it is installed.
private let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// The dashboard in a real browser: headless Chromium (Debian's `chromium`, which
/// `scripts/install-test-deps` installs) against `ledgerctl serve --dashboard` on the golden
/// fixture's year. It follows the login URL's redirect, keeps the session cookie in its profile,
/// and renders every page with the policy the dashboard sends (no script, inline style).
///
/// `DASHBOARD_SCREENSHOTS_DIR=DIR` also writes one screenshot a page to DIR (1280×900): how the
/// pictures in `docs/dashboard/` are made.
@Suite(.serialized, .enabled(if: chromium != nil, "needs chromium (scripts/install-test-deps)"))
struct DashboardBrowserTests {
    /// The date the pictures show: a day with requests of every colour.
    static let asOf = "2025-08-10"

    @Test func chromiumLogsInAndRendersEveryPage() throws {
        let scratch = Scratch()
        let year = try YearAtActivepeople.build(in: scratch.path + "/ledger")
        let request = try #require(
            try year.ledger.storedRequests().values.filter(\.extended).min { $0.openedAt < $1.openedAt }
        )
        // A verify and a rebuild, so that the integrity page has their runs to show.
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["verify"]).status == 0 && ctl.run(["rebuild"]).status == 0)
        let server = try TestServer(
            ledger: scratch.path + "/ledger",
            socket: scratch.path + "/ledger.sock",
            extraArguments: ["--dashboard", "127.0.0.1:0"]
        )
        let login = try DashboardServeTests.loginURL(in: scratch.path + "/ledger.serve.log")
        let base = try #require(login.components(separatedBy: "/login?").first)
        let profile = scratch.path + "/profile"

        // A fresh browser is refused; the login URL's redirect lands on the clock, logged in.
        let refused = try Self.dumpDOM(base + "/", profile: scratch.path + "/other-profile")
        #expect(refused.contains("<h1>Log in to the dashboard</h1>") && !refused.contains("<nav>"))
        let clock = try Self.dumpDOM(login, profile: profile)
        #expect(clock.contains("<h1>Statutory clock</h1>") && clock.contains("<nav>"))
        #expect(clock.contains(#"<span class="count">"#) && clock.contains("Overdue"))

        // The session cookie carries on to every page, and the as-of date with it.
        let pages = [
            ("clock", "/?asOf=\(Self.asOf)", "<h1>Statutory clock</h1>"),
            ("consent", "/consent?asOf=\(Self.asOf)", "<h1>Consent</h1>"),
            ("erasures", "/erasures?asOf=\(Self.asOf)", "<h1>Erasures</h1>"),
            ("integrity", "/integrity?asOf=\(Self.asOf)", "<h1>Integrity</h1>"),
            ("integrity-now", "/integrity", "<h1>Integrity</h1>"),
            ("timeline", "/requests/\(request.requestId)?asOf=\(Self.asOf)", "<h1>Request \(request.requestId)</h1>"),
        ]
        // No external id and no text of any payload, on any page (actors are stored in clear).
        let forbidden = year.externalIds.union(year.dataValues).subtracting(YearAtActivepeople.actors)
        for (_, path, heading) in pages {
            let dom = try Self.dumpDOM(base + path, profile: profile)
            #expect(dom.contains(heading), "\(path)")
            if path.contains("asOf=") {
                #expect(dom.contains(#"value="\#(Self.asOf)""#), "\(path): the date field holds the date")
            } else {
                // Now: the runs of verify and rebuild just made.
                #expect(dom.contains(#"<span class="ok">OK</span><br><span class="note">head seq 2269;"#), "\(path)")
            }
            #expect(!forbidden.contains { dom.contains($0) }, "\(path)")
        }
        let consent = try Self.dumpDOM(base + "/consent?asOf=\(Self.asOf)", profile: profile)
        #expect(consent.contains("<svg class=\"chart\"") && consent.contains("<rect class=\"grant\""))
        #expect(consent.contains("<rect class=\"expiry\""))

        // Each page shows the golden figures at the end of the year, and the as-of picker (a GET
        // form: the same URL) changes them to the golden figures of the end of June.
        for date in ["2025-12-31", "2025-06-30"] {
            let golden = try GoldenFigures(date: date)
            #expect(golden.seq > 1_000 && golden.overdue > 0 && golden.erased > 50 && golden.expiring > 10, "\(date)")
            let clockThen = try Self.dumpDOM(base + "/?asOf=\(date)", profile: profile)
            #expect(clockThen.contains(#"<span class="count">\#(golden.overdue)</span>Overdue"#), "\(date)")
            let consentThen = try Self.dumpDOM(base + "/consent?asOf=\(date)", profile: profile)
            let newsletter =
                #"<td class="num">\#(golden.newsletter.granted)</td><td class="num">\#(golden.newsletter.withdrawn)</td>"#
            #expect(consentThen.contains(newsletter), "\(date): the newsletter's counts")
            #expect(consentThen.contains(#"<td><code>policy-v1</code></td>\#(newsletter)"#), "\(date): by notice")
            #expect(consentThen.contains("Expiring in the next 30 days (\(golden.expiring), to"), "\(date)")
            let erasuresThen = try Self.dumpDOM(base + "/erasures?asOf=\(date)", profile: profile)
            #expect(erasuresThen.contains(#"<span class="count">\#(golden.erased)</span>Erasures"#), "\(date)")
            let integrityThen = try Self.dumpDOM(base + "/integrity?asOf=\(date)", profile: profile)
            #expect(integrityThen.contains("<dt>Seq</dt><dd>\(golden.seq)</dd>"), "\(date)")
            for dom in [clockThen, consentThen, erasuresThen, integrityThen] {
                #expect(!forbidden.contains { dom.contains($0) }, "\(date)")
            }
        }

        // A picture of each page.
        let pictures = ProcessInfo.processInfo.environment["DASHBOARD_SCREENSHOTS_DIR"] ?? scratch.path + "/shots"
        try FileManager.default.createDirectory(atPath: pictures, withIntermediateDirectories: true)
        // Integrity now (with the runs of the checks) rather than then; the consent page whole.
        let pictured = [
            ("clock", pages[0].1, 900), ("consent", pages[1].1, 2_400), ("erasures", pages[2].1, 900),
            ("integrity", "/integrity", 900), ("timeline", pages[5].1, 900),
        ]
        for (name, path, height) in pictured {
            let file = pictures + "/\(name).png"
            try Self.run(
                ["--screenshot=\(file)", "--window-size=1280,\(height)", "--hide-scrollbars", base + path],
                profile
            )
            let png = try #require(FileManager.default.contents(atPath: file), "\(name)")
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000, "\(name)")
        }
        #expect(server.stop(SIGTERM) == 0)
    }

    /// The figures the golden files (`snapshots/GoldenFixtureTests`) hold for the end of a day.
    struct GoldenFigures {
        var seq = 0
        var overdue = 0
        var erased = 0
        var newsletter: (granted: Int, withdrawn: Int) = (0, 0)
        /// Consents granted then that lapse within 30 days.
        var expiring = 0

        init(date: String) throws {
            let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("snapshots/GoldenFixtureTests")
            let asOf = try #require(ISO8601DateFormatter.withFractions.date(from: date + "T23:59:59.999Z"))
            func lines(_ name: String) throws -> [[String: Any]] {
                try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8).split(separator: "\n").map
                {
                    try #require(jsonObject(String($0)))
                }
            }
            for line in try lines("state-\(date).ndjson") {
                if let seq = line["seq"] as? Int, line["asOf"] != nil { self.seq = seq }
                if line["id"] as? String == "newsletter" {
                    newsletter = (try #require(line["granted"] as? Int), try #require(line["withdrawn"] as? Int))
                }
                guard line["pseudonym"] != nil else { continue }
                if line["erased"] as? Bool == true { erased += 1 }
                for consent in line["consents"] as? [[String: Any]] ?? []
                where consent["status"] as? String == "granted" {
                    guard let text = consent["expiresAt"] as? String,
                        let expiry = ISO8601DateFormatter.withFractions.date(from: text)
                    else { continue }
                    if expiry <= asOf.addingTimeInterval(30 * 86_400) { expiring += 1 }
                }
            }
            var inside = false
            for line in try lines("overdue.ndjson") {
                if let day = line["asOf"] as? String { inside = day.hasPrefix(date) } else if inside { overdue += 1 }
            }
        }
    }

    /// The DOM Chromium builds for `url`, after any redirect.
    static func dumpDOM(_ url: String, profile: String) throws -> String {
        try run(["--dump-dom", url], profile)
    }

    /// Runs headless Chromium with `arguments` and the profile `profile` (at most 90 s); its
    /// standard output.
    @discardableResult
    static func run(_ arguments: [String], _ profile: String) throws -> String {
        let output = profile + ".out"
        #expect(FileManager.default.createFile(atPath: output, contents: nil))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(chromium))
        process.arguments =
            ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile)"] + arguments
        process.standardOutput = FileHandle(forWritingAtPath: output)
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(90)
        while process.isRunning, Date() < deadline { usleep(50_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "chromium \(arguments)")
        return try String(contentsOfFile: output, encoding: .utf8)
    }
}
