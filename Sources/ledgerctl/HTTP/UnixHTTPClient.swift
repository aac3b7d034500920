import Foundation
import Ledger

/// A minimal HTTP/1.1 client over a Unix domain socket, for `ledgerctl` commands that go through a
/// running server (SPEC §6, §8: `erase` and `keys compact`). One request per connection.
struct UnixHTTPClient {
    let path: String

    struct Reply {
        var status: Int
        var body: [UInt8]
    }

    /// Whether a server answers on the socket.
    func isAnswering() -> Bool {
        guard let fd = try? connect() else { return false }
        close(fd)
        return true
    }

    /// Sends one request and reads the whole reply.
    /// - Throws: ``LedgerError`` `io_error` when the socket cannot be reached or answers nonsense.
    func send(method: String, path requestPath: String, json body: String? = nil) throws -> Reply {
        let fd = try connect()
        defer { close(fd) }
        let payload = Array((body ?? "").utf8)
        var head = "\(method) \(requestPath) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        if body != nil { head += "Content-Type: application/json\r\n" }
        head += "Content-Length: \(payload.count)\r\n\r\n"
        let request = Array(head.utf8) + payload
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw LedgerError(.ioError, "cannot write to the server's socket") }
            sent += n
        }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            reply += chunk[0..<n]
        }
        guard let split = reply.firstRange(of: Array("\r\n\r\n".utf8)),
            let statusLine = String(bytes: reply[..<split.lowerBound], encoding: .utf8)?.split(separator: "\r\n").first,
            let status = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { throw LedgerError(.ioError, "the server's reply cannot be read") }
        return Reply(status: status, body: Array(reply[split.upperBound...]))
    }

    private func connect() throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LedgerError(.ioError, "cannot create a socket") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw LedgerError(.invalidField, "the socket path is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Foundation.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            close(fd)
            throw LedgerError(.ioError, "nothing answers on \(path)")
        }
        return fd
    }
}

extension UnixHTTPClient.Reply {
    /// The error object of a refused call, as a ``LedgerError``; `nil` for a success.
    var error: LedgerError? {
        guard status >= 400 else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let error = object["error"] as? [String: Any], let code = error["code"] as? String
        else { return LedgerError(.internal, "the server answered \(status)") }
        return LedgerError(LedgerError.Code(rawValue: code), error["message"] as? String ?? "")
    }

    /// The body as a JSON value, re-serialised in the ledger's key order when it is an object.
    var text: String { String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
}
