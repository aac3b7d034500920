import Foundation

/// One persistent HTTP/1.1 connection over a Unix domain socket, for load generation and clients
/// that send many requests: requests go one after another, each reply read by its
/// `Content-Length`.
public final class KeepAliveConnection {
    private let fd: Int32
    private var buffer: [UInt8] = []

    /// Connects to the socket at `path`.
    public init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw UnixHTTPClient.Failure(description: "cannot create a socket") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw UnixHTTPClient.Failure(description: "the socket path is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            close(fd)
            throw UnixHTTPClient.Failure(description: "nothing answers on \(path)")
        }
    }

    deinit { close(fd) }

    /// Sends a request and returns the reply's status.
    public func send(
        method: String,
        path: String,
        body: [UInt8] = [],
        contentType: String = "application/json"
    ) throws -> Int {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n"
        if !body.isEmpty { head += "Content-Type: \(contentType)\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        let request = Array(head.utf8) + body
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw UnixHTTPClient.Failure(description: "the connection was closed") }
            sent += n
        }
        return try readReply()
    }

    private func readReply() throws -> Int {
        var headerEnd: Range<Int>?
        while true {
            headerEnd = buffer.firstRange(of: [13, 10, 13, 10])
            if headerEnd != nil { break }
            try fill()
        }
        guard let end = headerEnd else { throw UnixHTTPClient.Failure(description: "no reply") }
        let head = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        guard let status = lines.first?.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw UnixHTTPClient.Failure(description: "a malformed reply")
        }
        let length =
            lines.dropFirst().compactMap { line -> Int? in
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
                return Int(parts[1].trimmingCharacters(in: .whitespaces))
            }.first ?? 0
        // A length the reply cannot have (negative, or beyond any body the server sends) would
        // overflow the arithmetic below.
        guard (0...(1 << 30)).contains(length) else {
            throw UnixHTTPClient.Failure(description: "a malformed reply (Content-Length \(length))")
        }
        while buffer.count < end.upperBound + length { try fill() }
        buffer.removeFirst(end.upperBound + length)
        return status
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { throw UnixHTTPClient.Failure(description: "the connection was closed") }
        buffer += chunk[0..<n]
    }
}
