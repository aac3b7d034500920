import Foundation
import HTTPTypes
import HummingbirdTesting
import Ledger
import LedgerServer
import Logging
import NIOCore

/// A fresh ledger with the bundled catalogue in a temporary directory, removed when dropped (one
/// per test), and servers for it that take every caller for this process's user.
final class TestLedger: Sendable {
    let path: String
    let ledger: Ledger

    init(snapshotInterval: UInt64 = Ledger.defaultSnapshotInterval) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-server-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let options = LedgerServer.ledgerOptions(Ledger.Options(initialMapSize: 64 << 20))
        ledger = try Ledger.create(
            at: path + "/ledger",
            catalogue: nil,
            snapshotInterval: snapshotInterval,
            options: options
        ).ledger
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// A server whose every caller has `uid` (by default this process's user, who holds every
    /// role when the catalogue has no `clients` section).
    func server(uid: UInt32 = getuid(), queueCapacity: Int = 200_000) -> LedgerServer {
        let configuration = ServerConfiguration(
            socketPath: path + "/ledger.sock",
            identification: .fixed(PeerCredentials(uid: uid, gid: getgid())),
            queueCapacity: queueCapacity
        )
        return LedgerServer(ledger: ledger, configuration: configuration, logger: Logger(label: "ledger-server-tests"))
    }

    /// Every event in the log, read through the Ledger API.
    func events() throws -> [StoredEvent] {
        var events: [StoredEvent] = []
        try ledger.forEachEvent { event in
            events.append(event)
            return true
        }
        return events
    }
}

/// One answer of the server.
struct Reply: Sendable {
    let status: Int
    let headers: HTTPFields
    /// The body's bytes.
    let bytes: [UInt8]

    /// The body as text.
    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// The body as a JSON object; `nil` when it is not one.
    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    /// The `error.code` of an error object.
    var errorCode: String? { (json?["error"] as? [String: Any])?["code"] as? String }

    /// The `error.line` of an error object.
    var errorLine: Int? { (json?["error"] as? [String: Any])?["line"] as? Int }
}

extension TestClientProtocol {
    /// Sends one call and collects its answer.
    func call(
        _ method: HTTPRequest.Method,
        _ uri: String,
        _ body: String? = nil,
        contentType: String = "application/json"
    ) async throws -> Reply {
        var headers: HTTPFields = [:]
        if body != nil { headers[.contentType] = contentType }
        let response = try await executeRequest(
            uri: uri,
            method: method,
            headers: headers,
            body: body.map { ByteBuffer(string: $0) }
        )
        return Reply(
            status: Int(response.status.code),
            headers: response.headers,
            bytes: Array(response.body.readableBytesView)
        )
    }
}

enum Events {
    /// A consent grant for `subject`, with `eventId` when given.
    static func grant(_ subject: String, purpose: String = "newsletter", eventId: String? = nil) -> String {
        let id = eventId.map { #","eventId":"\#($0)""# } ?? ""
        return #"{"type":"consent.granted","subject":"\#(subject)","purpose":"\#(purpose)","notice":"policy-v1"\#(id)}"#
    }

    /// An access request for `subject`, with `eventId` when given.
    static func accessRequest(_ subject: String, eventId: String? = nil) -> String {
        let id = eventId.map { #","eventId":"\#($0)""# } ?? ""
        return #"{"type":"access.requested","subject":"\#(subject)"\#(id)}"#
    }

    /// The `n`th of a run of event ids.
    static func eventId(_ n: Int) -> String {
        let digits = String(n)
        return "e0000000-0000-4000-8000-" + String(repeating: "0", count: 12 - digits.count) + digits
    }
}

/// The value of an unlabelled metric in a Prometheus text exposition.
func metric(_ name: String, in text: String) -> Double? {
    text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.dropFirst(name.count + 1)) }
}
