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
            ("integrity", "/integrity?asOf=\(Self.asOf)", "<h1>Integrity</h1>"),
            ("timeline", "/requests/\(request.requestId)?asOf=\(Self.asOf)", "<h1>Request \(request.requestId)</h1>"),
        ]
        for (_, path, heading) in pages {
            let dom = try Self.dumpDOM(base + path, profile: profile)
            #expect(dom.contains(heading), "\(path)")
            #expect(dom.contains(#"value="\#(Self.asOf)""#), "\(path): the date field holds the date")
            #expect(!year.externalIds.contains { dom.contains($0) }, "\(path)")
        }
        let consent = try Self.dumpDOM(base + "/consent?asOf=\(Self.asOf)", profile: profile)
        #expect(consent.contains("<svg class=\"chart\"") && consent.contains("<rect class=\"grant\""))

        // A picture of each page.
        let pictures = ProcessInfo.processInfo.environment["DASHBOARD_SCREENSHOTS_DIR"] ?? scratch.path + "/shots"
        try FileManager.default.createDirectory(atPath: pictures, withIntermediateDirectories: true)
        for (name, path, _) in pages {
            let file = pictures + "/\(name).png"
            try Self.run(["--screenshot=\(file)", "--window-size=1280,900", "--hide-scrollbars", base + path], profile)
            let png = try #require(FileManager.default.contents(atPath: file), "\(name)")
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000, "\(name)")
        }
        #expect(server.stop(SIGTERM) == 0)
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
