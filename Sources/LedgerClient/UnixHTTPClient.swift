import Foundation

/// A minimal HTTP/1.1 client over a Unix domain socket: what `ledgerctl` uses to reach a running
/// server (SPEC §6, §8: `erase` and `keys compact`), and what the server tests use. One request
/// per connection.
public struct UnixHTTPClient: Sendable {
    /// The socket's path.
    public let path: String

    /// Creates a client for the socket at `path`.
    public init(path: String) { self.path = path }

    /// A reply: the status code and the body.
    public struct Reply: Sendable {
        /// The HTTP status code.
        public var status: Int
        /// The body's bytes.
        public var body: [UInt8]

        /// The body as text, without surrounding white space.
        public var text: String {
            String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// A failure to reach the server or to read its reply.
    public struct Failure: Error, CustomStringConvertible {
        /// What went wrong.
        public let description: String

        /// Creates a failure with its description.
        public init(description: String) { self.description = description }
    }

    /// Whether a server answers on the socket.
    public func isAnswering() -> Bool {
        guard let fd = try? connect() else { return false }
        close(fd)
        return true
    }

    /// Sends one request and reads the whole reply.
    /// - Throws: ``Failure`` when the socket cannot be reached, answers nonsense, or the reply
    ///   ends before the length its `Content-Length` gives (a server killed mid-reply), or a read
    ///   fails before a reply without one has ended.
    public func send(
        method: String,
        path requestPath: String,
        body: String? = nil,
        contentType: String = "application/json"
    ) throws -> Reply {
        let fd = try connect()
        defer { close(fd) }
        let payload = Array((body ?? "").utf8)
        var head = "\(method) \(requestPath) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        if body != nil { head += "Content-Type: \(contentType)\r\n" }
        head += "Content-Length: \(payload.count)\r\n\r\n"
        let request = Array(head.utf8) + payload
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "cannot write to the server's socket") }
            sent += n
        }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        // A read error after the whole reply (a reset once the server closed) costs nothing;
        // before it, the reply is refused below.
        var readError: Int32?
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                reply += chunk[0..<n]
            } else if n == 0 {
                break
            } else {
                let code = errno
                if code == EINTR { continue }
                readError = code
                break
            }
        }
        let unreadable = "the server's reply cannot be read" + (readError.map { " (errno \($0))" } ?? "")
        guard let split = reply.firstRange(of: Array("\r\n\r\n".utf8)),
            let head = String(bytes: reply[..<split.lowerBound], encoding: .utf8),
            let statusLine = head.split(separator: "\r\n").first,
            let status = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { throw Failure(description: unreadable) }
        var body = Array(reply[split.upperBound...])
        // Replies that carry no body whatever their Content-Length says (RFC 9110 §6.4.1).
        let bodyless = method == "HEAD" || status < 200 || status == 204 || status == 304
        if !bodyless, let length = Self.contentLength(in: head) {
            guard length >= 0 else { throw Failure(description: unreadable) }
            guard body.count >= length else {
                throw Failure(description: "the server's reply was cut short: \(body.count) of \(length) bytes")
            }
            body = Array(body.prefix(length))
        } else if readError != nil {
            throw Failure(description: unreadable)
        }
        return Reply(status: status, body: body)
    }

    /// The `Content-Length` a reply's head gives, when it gives one.
    private static func contentLength(in head: String) -> Int? {
        for line in head.split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":"),
                line[..<colon].trimmingCharacters(in: .whitespaces).lowercased() == "content-length"
            else { continue }
            return Int(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    private func connect() throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "cannot create a socket") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw Failure(description: "the socket path is too long")
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
            throw Failure(description: "nothing answers on \(path)")
        }
        return fd
    }
}
