import Foundation
import Testing

/// `data` numbers survive append → retry → history digit for digit, over the CLI and the socket.
@Suite(.serialized)
struct ExactDataTests {
    static let data = #"{"n":-1234567890123456789,"big":123456789012345678901234567890,"d":0.1,"h":1e400}"#
    static let canonical = #"{"big":123456789012345678901234567890,"d":0.1,"h":1e400,"n":-1234567890123456789}"#
    static let eventId = "c1000000-0000-4000-8000-000000000001"

    @Test func overTheCLI() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["init"]).status == 0)
        let arguments = [
            "append", "--json", "--type", "access.requested", "--subject", "big@example.com", "--event-id",
            Self.eventId, "--data", Self.data,
        ]
        let first = try ctl.run(arguments)
        #expect(first.status == 0, "\(first.stdout) \(first.stderr)")
        let retry = try ctl.run(arguments)
        #expect(retry.status == 0, "\(retry.stdout) \(retry.stderr)")
        #expect(retry.stdout == first.stdout)
        let history = try ctl.run(["history", "--json", "--subject", "big@example.com"])
        #expect(history.status == 0)
        #expect(history.stdout.contains(#""data":\#(Self.canonical)"#), "\(history.stdout)")
        #expect(!history.stdout.contains("e+18"))
    }

    @Test func overTheSocket() throws {
        let scratch = Scratch()
        let ledger = scratch.path + "/ledger"
        #expect(try LedgerctlRunner(ledger: ledger).run(["init"]).status == 0)
        try FileManager.default.createDirectory(atPath: scratch.path + "/run", withIntermediateDirectories: true)
        let server = try TestServer(ledger: ledger, socket: scratch.path + "/run/ledger.sock")
        defer { server.stop() }
        let body =
            #"{"type":"access.requested","subject":"big@example.com","eventId":"\#(Self.eventId)","data":\#(Self.data)}"#
        let first = try server.call("POST", "/v1/events", body)
        #expect(first.status == 201)
        let retry = try server.call("POST", "/v1/events", body)
        #expect(retry.status == 200, "\(retry.text)")
        #expect(retry.text == first.text)
        let history = try server.call("POST", "/v1/subjects/history", #"{"subject":"big@example.com"}"#)
        #expect(history.status == 200)
        #expect(history.text.contains(#""data":\#(Self.canonical)"#), "\(history.text)")
        // Bodies of the other calls are read by the same parser: a big number where a string belongs
        // is invalid_field, not a crash or a rounded value.
        let bad = try server.call("POST", "/v1/consents/query", #"{"subject":1e400}"#)
        #expect(bad.status == 400 && errorCode(bad.json) == "invalid_field")
        let duplicate = try server.call("POST", "/v1/consents/query", #"{"subject":"a","subject":"b"}"#)
        #expect(duplicate.status == 400 && errorCode(duplicate.json) == "invalid_json")
    }
}
