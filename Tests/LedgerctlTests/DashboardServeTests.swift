import Foundation
import GoldenFixture
import Testing

/// `ledgerctl serve --dashboard ADDRESS`, the real process: loopback addresses only; the token
/// file and the login URL; the dashboard beside the socket API; SIGTERM stops both.
@Suite(.serialized)
struct DashboardServeTests {
    /// An initialised ledger in `scratch`, with a few events (one an access request).
    private func ledger(_ scratch: Scratch) throws -> String {
        let ledger = scratch.path + "/ledger"
        let ctl = LedgerctlRunner(ledger: ledger)
        #expect(try ctl.run(["init"]).status == 0)
        let grant = ["append", "--type", "consent.granted", "--subject", "dana@example.com", "--purpose", "newsletter"]
        #expect(try ctl.run(grant + ["--notice", "policy-v1", "--data", #"{"note":"secret-note-41"}"#]).status == 0)
        #expect(try ctl.run(["append", "--type", "access.requested", "--subject", "dana@example.com"]).status == 0)
        return ledger
    }

    @Test(arguments: [
        "0.0.0.0:8080", "192.168.1.10:8080", "[::]:8080", "localhost:8080", "127.0.0.1", "127.0.0.1:99999",
    ])
    func anAddressThatIsNotLoopbackIsAUsageError(address: String) throws {
        let scratch = Scratch()
        let ledger = try ledger(scratch)
        let outcome = try LedgerctlRunner(ledger: ledger).run(
            ["serve", "--socket", scratch.path + "/l.sock", "--dashboard", address]
        )
        #expect(outcome.status == 2, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("loopback address"))
        #expect(!FileManager.default.fileExists(atPath: ledger + "/dashboard.token"))
    }

    @Test func theDashboardServesBesideTheSocketAndStopsWithIt() throws {
        let scratch = Scratch()
        let ledger = try ledger(scratch)
        let server = try TestServer(
            ledger: ledger,
            socket: scratch.path + "/ledger.sock",
            extraArguments: ["--dashboard", "127.0.0.1:0"]
        )
        let url = try Self.loginURL(in: ledger + ".serve.log")
        let token = try #require(url.split(separator: "=").last.map(String.init))
        let port = try #require(Int(url.split(separator: ":")[2].prefix { $0.isNumber }))
        // The token file: the token, mode 0600.
        let tokenPath = ledger + "/dashboard.token"
        #expect(try String(contentsOfFile: tokenPath, encoding: .utf8) == token + "\n")
        let mode = try FileManager.default.attributesOfItem(atPath: tokenPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(token.utf8.count == 64)
        // Nothing without the token; a session with it.
        #expect(try TCPHTTP.get(port: port, "/").status == 401)
        #expect(try TCPHTTP.get(port: port, "/login?token=" + String(repeating: "0", count: 64)).status == 401)
        let login = try TCPHTTP.get(port: port, "/login?token=" + token)
        #expect(login.status == 303)
        let cookie = try #require(login.header("set-cookie")?.split(separator: ";").first.map(String.init))
        let clock = try TCPHTTP.get(port: port, "/", headers: ["Cookie": cookie])
        #expect(clock.status == 200 && clock.body.contains("<span class=\"count\">1</span>On time"))
        #expect(clock.header("content-security-policy")?.hasPrefix("default-src 'none'") == true)
        #expect(!clock.body.contains("dana@example.com") && !clock.body.contains("secret-note-41"))
        // A page reached through a name that is not the loopback's (DNS rebinding) is refused.
        let rebound = try TCPHTTP.get(port: port, "/", headers: ["Cookie": cookie, "Host": "evil.example"])
        #expect(rebound.status == 421)
        // The socket API answers beside it.
        #expect(try server.call("GET", "/v1/head").status == 200)
        // The token is printed once, in the login URL, and never logged.
        let output = try String(contentsOfFile: ledger + ".serve.log", encoding: .utf8)
        #expect(output.components(separatedBy: token).count == 2, "\(output)")
        #expect(server.stop(SIGTERM) == 0)
        #expect(throws: (any Error).self) { try TCPHTTP.get(port: port, "/") }
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/ledger.sock"))
        #expect(!FileManager.default.fileExists(atPath: tokenPath), "the token opens nothing once the server stopped")
    }

    @Test func aDashboardThatCannotListenStopsTheServerWithIOError() throws {
        let scratch = Scratch()
        let ledger = try ledger(scratch)
        let taken = try TCPHTTP.Listener()
        let outcome = try LedgerctlRunner(ledger: ledger).run(
            ["serve", "--socket", scratch.path + "/l.sock", "--dashboard", "127.0.0.1:\(taken.port)"]
        )
        #expect(outcome.status == 3, "\(outcome.stdout) \(outcome.stderr)")
        #expect(outcome.stderr.contains("io_error") && outcome.stderr.contains("the dashboard cannot listen"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/l.sock"))
        withExtendedLifetime(taken) {}
    }

    @Test func appendsAtASteadyRateBesidePageLoadsAreAllAcknowledged() throws {
        let scratch = Scratch()
        let year = try YearAtActivepeople.build(in: scratch.path + "/ledger")
        let head = Int(try year.ledger.head().seq)
        let server = try TestServer(
            ledger: scratch.path + "/ledger",
            socket: scratch.path + "/ledger.sock",
            extraArguments: ["--dashboard", "127.0.0.1:0"]
        )
        let url = try Self.loginURL(in: scratch.path + "/ledger.serve.log")
        let port = try #require(Int(url.split(separator: ":")[2].prefix { $0.isNumber }))
        let loginPath = try #require(url.range(of: "/login")).lowerBound
        let login = try TCPHTTP.get(port: port, String(url[loginPath...]))
        let cookie = try #require(login.header("set-cookie")?.split(separator: ";").first.map(String.init))

        // Two loaders fetch every page and download, now and at past dates (each a fold of its
        // own), until the appends are done.
        let pages = ["/", "/consent", "/erasures", "/integrity", "/requests.csv", "/consent.csv", "/expiring.csv"]
        let dates = ["", "?asOf=2025-03-31", "?asOf=2025-06-30", "?asOf=2025-09-30", "?asOf=2025-11-15"]
        let loads = LoadRecord()
        let loaders = DispatchGroup()
        for offset in 0..<2 {
            DispatchQueue.global().async(group: loaders) {
                var round = offset
                while !loads.stopped {
                    for page in pages {
                        let status =
                            (try? TCPHTTP.get(
                                port: port,
                                page + dates[round % dates.count],
                                headers: ["Cookie": cookie]
                            ))?.status
                        loads.note(status ?? 0)
                    }
                    round += 1
                }
            }
        }
        // 150 appends, one every 20 ms over the socket API, each waiting for its answer.
        var replies: [(status: Int, seq: Int?)] = []
        let start = Date()
        for index in 0..<150 {
            let due = start.addingTimeInterval(Double(index) * 0.02)
            if due > Date() { Thread.sleep(until: due) }
            let body =
                #"{"type":"consent.granted","subject":"steady\#(index)@example.org","purpose":"newsletter","notice":"policy-v1"}"#
            let reply = try server.call("POST", "/v1/events", body)
            replies.append((reply.status, reply.json?["seq"] as? Int))
        }
        loads.stop()
        loaders.wait()

        // Every append acknowledged, in order, none lost; every page answered meanwhile.
        #expect(replies.allSatisfy { $0.status == 201 })
        #expect(replies.map(\.seq) == (head + 1...head + 150).map { $0 })
        #expect(loads.statuses.count >= pages.count, "at least one round of pages")
        #expect(loads.statuses.allSatisfy { $0 == 200 }, "\(Set(loads.statuses))")
        // The page "now" shows them: its fold was extended with the new events.
        let integrity = try TCPHTTP.get(port: port, "/integrity", headers: ["Cookie": cookie])
        #expect(integrity.body.contains("<dt>Seq</dt><dd>\(head + 150)</dd>"))
        let consent = try TCPHTTP.get(port: port, "/consent.csv", headers: ["Cookie": cookie])
        #expect(consent.body.contains("\r\nnewsletter,Newsletter,consent,\(376 + 150),177,"))
        #expect(try server.call("GET", "/v1/head").json?["seq"] as? Int == head + 150)
        #expect(server.stop(SIGTERM) == 0)
    }

    /// The login URL the server printed to `log`, waiting for it.
    static func loginURL(in log: String) throws -> String {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains("/login?token=") }) {
                return line.trimmingCharacters(in: .whitespaces)
            }
            usleep(20_000)
        }
        throw TCPHTTP.Failure(description: "no login URL printed")
    }
}

/// The statuses of the pages loaded beside the appends, and when to stop loading them.
final class LoadRecord: @unchecked Sendable {
    // Invariant: `statuses` and `stopping` are only touched under `lock`.
    private var recorded: [Int] = []
    private var stopping = false
    private let lock = NSLock()

    var stopped: Bool { lock.withLock { stopping } }
    var statuses: [Int] { lock.withLock { recorded } }

    func note(_ status: Int) { lock.withLock { recorded.append(status) } }
    func stop() { lock.withLock { stopping = true } }
}

/// A minimal HTTP/1.1 client over TCP to 127.0.0.1, one request a connection.
enum TCPHTTP {
    struct Failure: Error, CustomStringConvertible { let description: String }

    struct Reply {
        let status: Int
        let headers: [(String, String)]
        let body: String

        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name }?.1 }
    }

    static func get(port: Int, _ path: String, headers: [String: String] = [:]) throws -> Reply {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw Failure(description: "connect: \(errno)") }
        var fields = ["Host": "127.0.0.1:\(port)", "Connection": "close"]
        fields.merge(headers) { $1 }
        var request = "GET \(path) HTTP/1.1\r\n"
        for (name, value) in fields { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == bytes.count else {
            throw Failure(description: "send")
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            received += buffer[0..<count]
        }
        let text = String(decoding: received, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw Failure(description: "no answer") }
        let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        guard let status = lines.first?.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw Failure(description: "no status")
        }
        let parsed = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return Reply(status: status, headers: parsed, body: String(text[split.upperBound...]))
    }

    /// A TCP socket listening on a free port of 127.0.0.1, closed when dropped.
    final class Listener {
        let fd: Int32
        let port: Int

        init() throws {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
            }
            fd = descriptor
            port = Int(UInt16(bigEndian: address.sin_port))
            guard descriptor >= 0, bound == 0, named == 0, listen(descriptor, 1) == 0 else {
                throw Failure(description: "listen")
            }
        }

        deinit { close(fd) }
    }
}
