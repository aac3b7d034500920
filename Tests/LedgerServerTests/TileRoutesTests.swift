import Foundation
import HummingbirdTesting
import Ledger
import Testing

@testable import LedgerServer

/// `GET /tile/<L>/<N>[.p/<W>]` and `GET /tile/entries/<N>[.p/<W>]`: the log as C2SP tlog-tiles,
/// computed on demand — the bytes `Ledger.tileData` gives (and `export --tiles` writes, which
/// `TileExportTests` compares), cacheable for good; a tile the log does not hold yet is 404 and a
/// malformed path 400, both as the project's JSON errors.
struct TileRoutesTests {
    /// Appends `count` events through the server, in batches.
    private func append(_ count: Int, with client: some TestClientProtocol) async throws {
        for start in stride(from: 0, to: count, by: 500) {
            let lines = (start..<min(start + 500, count)).map { Events.grant("t\($0 % 30)@example.com") }
            let reply = try await client.call(
                .post,
                "/v1/events",
                lines.joined(separator: "\n"),
                contentType: "application/x-ndjson"
            )
            #expect(reply.status == 201)
        }
    }

    @Test func everyTileOfTheTreeIsServedAsTheLedgerComputesIt() async throws {
        let store = try TestLedger()
        try await store.server().makeApplication().test(.router) { client in
            try await append(600, with: client)
            for tile in LogTile.tiles(ofTreeOf: 600) {
                let reply = try await client.call(.get, "/" + tile.path)
                #expect(reply.status == 200, "\(tile.path): \(reply.text)")
                #expect(reply.headers[.contentType] == "application/octet-stream")
                #expect(reply.headers[.cacheControl] == "public, max-age=31536000, immutable")
                #expect(reply.bytes == (try store.ledger.tileData(tile)), "\(tile.path)")
            }
            #expect(try await client.call(.get, "/tile/0/001").bytes.count == 8_192)
            // The partial tiles of smaller trees are served too: a full tile's beginning.
            let full = try await client.call(.get, "/tile/0/000").bytes
            let partial = try await client.call(.get, "/tile/0/000.p/5")
            #expect(partial.status == 200 && partial.bytes == Array(full.prefix(160)))
            let bundle = try await client.call(.get, "/tile/entries/001.p/1")
            #expect(bundle.status == 200)
            #expect(bundle.bytes == [0, 32] + (try store.events()[256].hash))
            let records = try await client.call(.get, "/records/001.p/1")
            #expect(records.status == 200)
            #expect(records.bytes.dropFirst(2) == Array(try store.events()[256].exportRecord.serialized.utf8)[...])
        }
    }

    @Test func tilesBeyondTheTreeAre404AndMalformedPaths400() async throws {
        let store = try TestLedger()
        try await store.server().makeApplication().test(.router) { client in
            try await append(300, with: client)
            let beyond = [
                "/tile/0/001", "/tile/0/001.p/45", "/tile/0/002.p/1", "/tile/1/000", "/tile/1/000.p/2",
                "/tile/2/000.p/1", "/tile/entries/001", "/tile/entries/001.p/45", "/tile/7/000.p/1",
                "/tile/63/x018/x446/x744/x073/x709/x551/615", "/tile/0/x018/x446/x744/x073/x709/x551/615.p/255",
            ]
            for path in beyond {
                let reply = try await client.call(.get, path)
                #expect(reply.status == 404, "\(path)")
                #expect(reply.errorCode == "not_found", "\(path): \(reply.text)")
                #expect(reply.headers[.cacheControl] == nil, "\(path)")
            }
            let malformed = [
                "/tile/x/1", "/tile/0/x1000/..", "/tile/0/x1000/000", "/tile/0/0", "/tile/0/000.p/0",
                "/tile/0/000.p/256", "/tile/0/000.p/", "/tile/0/000.p/007", "/tile/00/000", "/tile/64/000",
                "/tile/0/x999/x999/x999/x999/x999/x999/x999/999", "/tile/0/x000/000", "/tile/entries/abc",
                "/tile/0/%30%30%30", "/tile/0/000/", "/tile/0/../../checkpoint", "/tile/data/000",
                "/tile/0/" + String(repeating: "x001/", count: 200) + "000",
            ]
            for path in malformed {
                let reply = try await client.call(.get, path)
                #expect(reply.status == 400, "\(path): \(reply.status)")
                #expect(reply.errorCode == "invalid_field", "\(path): \(reply.text)")
            }
            let posted = try await client.call(.post, "/tile/0/000", "{}")
            #expect(posted.status == 405 && posted.errorCode == "method_not_allowed")
            // Nothing was appended or changed by any of it.
            #expect(try store.events().count == 300)
        }
    }

    @Test func aCallerWithoutAReadOrAuditRoleIsRefused403() async throws {
        let store = try TestLedger()
        let stranger: UInt32 = getuid() == 54_321 ? 54_322 : 54_321
        try await store.server(uid: stranger).makeApplication().test(.router) { client in
            let reply = try await client.call(.get, "/tile/0/000.p/1")
            #expect(reply.status == 403 && reply.errorCode == "forbidden")
        }
    }
}
