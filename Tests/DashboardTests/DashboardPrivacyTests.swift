import Dashboard
import Foundation
import GoldenFixture
import HummingbirdTesting
import Ledger
import Logging
import Projections
import Testing

/// What the dashboard must never show: no external id and no payload text in any page or CSV, at
/// any date; and whatever the catalogue or a client put in a name is text, escaped in HTML and
/// defused in CSV.
struct DashboardPrivacyTests {
    @Test func noExternalIdOrPayloadTextAppearsInAnyPageOrDownload() async throws {
        let fixture = try DashboardFixture()
        // Every external id the year used, and every string of its events' data, except the one
        // that is also an actor's name (actors are stored in clear and shown on timelines).
        let forbidden = fixture.year.externalIds.union(fixture.year.dataValues)
            .subtracting(YearAtActivepeople.actors)
        #expect(fixture.year.externalIds.count > 300 && fixture.year.dataValues.count > 50)
        let scan = NeedleScan(forbidden)
        let requests = try fixture.ledger.storedRequests().values.sorted { $0.openedAt < $1.openedAt }
        #expect(requests.count > 50)
        let (pages, pseudonymsSeen) = try await fixture.dashboard().makeApplication().test(.router) { client in
            var pages = 0
            var pseudonymsSeen = 0
            let cookie = try await client.logIn()
            for query in ["", "?asOf=2025-03-31", "?asOf=2025-06-30", "?asOf=2025-09-30T12:00:00Z"] {
                var paths = DashboardRoutesTests.everyPath + ["/nowhere"]
                paths += requests.map { "/requests/" + $0.requestId }
                for path in paths {
                    let reply = try await client.get(path + query, cookie: cookie)
                    #expect([200, 404].contains(reply.status), "\(path)\(query)")
                    let leaked = scan.found(in: reply.text)
                    #expect(leaked.isEmpty, "\(path)\(query) shows \(leaked.sorted().prefix(3))")
                    if requests.contains(where: { reply.text.contains($0.pseudonym) }) { pseudonymsSeen += 1 }
                    pages += 1
                }
            }
            for page in [try await client.get("/"), try await client.get("/?asOf=nonsense", cookie: cookie)] {
                #expect(scan.found(in: page.text).isEmpty)
            }
            return (pages, pseudonymsSeen)
        }
        #expect(pages > 200)
        #expect(pseudonymsSeen > 100, "requests appear, by pseudonym")
    }

    @Test func theScanFindsWhatItLooksFor() {
        let scan = NeedleScan(["user12@example.no", "Bark Silas vei 5", "user1@example.no"])
        #expect(scan.found(in: "<td>user12@example.no</td>") == ["user12@example.no"])
        #expect(scan.found(in: "Bark Silas vei 5") == ["Bark Silas vei 5"])
        #expect(scan.found(in: "user1@example.n").isEmpty)
    }

    @Test func namesFromTheCatalogueAndClientsAreEscapedInPagesAndDefusedInCSV() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dashboard-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let hostile = #"=HYPERLINK("http://evil.example","x") <script>alert(1)</script> & "quoted""#
        let source = Catalogue.bundledSource.replacing(
            #"en: "Newsletter""#,
            with: #"en: "\#(hostile.replacing("\"", with: "\\\""))""#
        )
        let catalogue = try Catalogue.parse(source)
        let ledger = try Ledger.create(at: directory + "/ledger", catalogue: catalogue).ledger
        let requestId = "d0000000-0000-4000-8000-000000000001"
        _ = try ledger.append(
            [
                try ClientEvent.decode(
                    json: Array(
                        #"{"type":"consent.granted","subject":"eve@example.com","purpose":"newsletter","notice":"policy-v1"}"#
                            .utf8
                    ),
                    catalogue: catalogue
                ),
                try ClientEvent.decode(
                    json: Array(
                        #"{"type":"access.requested","subject":"eve@example.com","eventId":"\#(requestId)"}"#.utf8
                    ),
                    catalogue: catalogue
                ),
            ],
            actor: "<img src=x onerror=alert(1)>@client"
        )
        let dashboard = try DashboardServer(
            ledger: ledger,
            address: LoopbackAddress(host: "127.0.0.1", port: 0),
            token: AccessToken(random: FixedRandom(bytes: DashboardFixture.tokenBytes)),
            logger: Logger(label: "dashboard-tests")
        )
        try await dashboard.makeApplication().test(.router) { client in
            let cookie = try await client.logIn()
            let consent = try await client.get("/consent", cookie: cookie)
            #expect(consent.status == 200)
            #expect(
                !consent.text.contains("<script>") && consent.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
            )
            #expect(consent.text.contains("&amp; &quot;quoted&quot;"))
            let timeline = try await client.get("/requests/\(requestId)", cookie: cookie)
            #expect(timeline.status == 200)
            #expect(
                !timeline.text.contains("<img") && timeline.text.contains("&lt;img src=x onerror=alert(1)&gt;@client")
            )
            #expect(!timeline.text.contains("eve@example.com") && !consent.text.contains("eve@example.com"))
            let csv = try await client.get("/consent.csv", cookie: cookie)
            let newsletter = try #require(
                csv.text.components(separatedBy: "\r\n").first { $0.hasPrefix("newsletter,") }
            )
            // The title, defused with a leading quote and quoted by RFC 4180 (inner quotes doubled).
            let expected = "\"'" + hostile.replacing("\"", with: "\"\"") + "\""
            #expect(newsletter == "newsletter,\(expected),consent,1,0,0,0,1.000,1,0,0,\(newsletter.suffix(24))")
            let requests = try await client.get("/requests.csv", cookie: cookie)
            #expect(requests.text.contains(requestId) && !requests.text.contains("eve@example.com"))
        }
    }
}

/// Finds which of many strings (each at least 4 bytes) a text contains, in one pass over the
/// text: the needles are indexed by their first 4 bytes.
struct NeedleScan: Sendable {
    private let byPrefix: [UInt32: [[UInt8]]]

    init(_ needles: Set<String>) {
        var byPrefix: [UInt32: [[UInt8]]] = [:]
        for needle in needles {
            let bytes = Array(needle.utf8)
            precondition(bytes.count >= 4, "a needle of fewer than 4 bytes")
            byPrefix[Self.prefix(bytes, 0), default: []].append(bytes)
        }
        self.byPrefix = byPrefix
    }

    /// The needles `text` contains.
    func found(in text: String) -> Set<String> {
        let bytes = Array(text.utf8)
        var found = Set<String>()
        guard bytes.count >= 4 else { return found }
        for start in 0...(bytes.count - 4) {
            guard let candidates = byPrefix[Self.prefix(bytes, start)] else { continue }
            for needle in candidates where start + needle.count <= bytes.count {
                if bytes[start..<(start + needle.count)].elementsEqual(needle) {
                    found.insert(String(decoding: needle, as: UTF8.self))
                }
            }
        }
        return found
    }

    private static func prefix(_ bytes: [UInt8], _ start: Int) -> UInt32 {
        UInt32(bytes[start]) << 24 | UInt32(bytes[start + 1]) << 16 | UInt32(bytes[start + 2]) << 8
            | UInt32(bytes[start + 3])
    }
}
