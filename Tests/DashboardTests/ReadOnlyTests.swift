import Dashboard
import Foundation
import HummingbirdTesting
import Ledger
import Testing

/// The dashboard never writes to the ledger: its sources call no writing API, and serving every
/// page and download leaves every data file byte for byte as it was.
struct ReadOnlyTests {
    /// Ledger calls that change something; none may appear in `Sources/Dashboard`, where the
    /// ledger is always called `ledger`.
    static let writingCalls =
        [
            "append(", "appendGroup(", "erase(", "loadCatalogue(", "addCosignatures(", "compactKeyStore(", "repair",
            "backup(", "ensureSigningKey(", "exportTiles(", "import",
        ].map { "ledger." + $0 } + ["Ledger.create(", "Ledger(openingAt", "recordIntegrityRun("]

    @Test func theDashboardsSourcesCallNoWritingAPI() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/Dashboard")
        let walker = try #require(FileManager.default.enumerator(atPath: root.path))
        var files = 0
        for case let relative as String in walker where relative.hasSuffix(".swift") {
            let text = try String(contentsOfFile: root.appendingPathComponent(relative).path, encoding: .utf8)
            for call in Self.writingCalls { #expect(!text.contains(call), "\(relative) calls \(call)") }
            files += 1
        }
        #expect(files > 10)
    }

    @Test func servingEveryPageLeavesTheDataFilesUnchanged() async throws {
        let fixture = try DashboardFixture()
        let files = ["/ledger/events/data.mdb", "/ledger/keys/data.mdb", "/ledger/keys/slots", "/ledger/keys/index"]
        func contents() throws -> [Data] {
            try files.map { try #require(FileManager.default.contents(atPath: fixture.path + $0), "\($0)") }
        }
        let before = try contents()
        let head = try fixture.ledger.head()
        // The first 20 requests, all made before the end of June.
        let requests = try fixture.ledger.storedRequests().values.sorted { $0.openedAt < $1.openedAt }.prefix(20)
            .map(\.requestId)
        try await fixture.dashboard().makeApplication().test(.router) { client in
            let cookie = try await client.logIn()
            for query in ["", "?asOf=2025-06-30"] {
                for path in DashboardRoutesTests.everyPath + requests.map({ "/requests/" + $0 }) {
                    #expect(try await client.get(path + query, cookie: cookie).status == 200, "\(path)\(query)")
                }
            }
        }
        #expect(try fixture.ledger.head() == head)
        #expect(try contents() == before)
    }
}
