import Foundation
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
