import Foundation
import LedgerClient
import Testing

/// A real `ledgerctl serve` on a temporary socket, for the server tests.
final class TestServer: @unchecked Sendable {
    // Invariant: the tests start and stop a server from one thread; `call` only reads immutable state.
    let ledger: String
    let socket: String
    let process = Process()
    let client: UnixHTTPClient
    private let output: String

    /// Starts `ledgerctl serve` (with `environment` added to this process's) and waits until it
    /// answers.
    init(ledger: String, socket: String, extraArguments: [String] = [], environment: [String: String] = [:]) throws {
        self.ledger = ledger
        self.socket = socket
        client = UnixHTTPClient(path: socket)
        output = ledger + ".serve.log"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        process.executableURL = URL(fileURLWithPath: LedgerctlRunner.binary)
        process.arguments = ["serve", "--ledger", ledger, "--socket", socket] + extraArguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let log = FileHandle(forWritingAtPath: output)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while !client.isAnswering() {
            guard process.isRunning, Date() < deadline else {
                throw UnixHTTPClient.Failure(description: "the server did not start: \(log_())")
            }
            usleep(20_000)
        }
    }

    private func log_() -> String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }

    /// Sends `signal` and waits for the server to end; returns its exit status.
    @discardableResult
    func stop(_ signal: Int32 = SIGTERM) -> Int32 {
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { if process.isRunning { stop(SIGKILL) } }

    /// Sends a request; the reply's status and parsed JSON body.
    func call(
        _ method: String,
        _ path: String,
        _ body: String? = nil,
        contentType: String = "application/json"
    ) throws
        -> (status: Int, json: [String: Any]?, text: String)
    {
        let reply = try client.send(method: method, path: path, body: body, contentType: contentType)
        return (reply.status, try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any], reply.text)
    }
}

/// The `code` of an error reply.
func errorCode(_ json: [String: Any]?) -> String? { (json?["error"] as? [String: Any])?["code"] as? String }
