import Foundation
import LedgerClient
import Testing

/// The client `ledgerctl erase` and `keys compact` reach a running server with: a reply cut short
/// is an error, never a shorter body taken for the whole one.
@Suite
struct UnixHTTPClientTests {
    /// Listens on `scratch/fake.sock`, answers one connection with `reply` once the request's
    /// head has arrived (with `readingRequest` false, once it is waiting, left unread), and
    /// closes it.
    private func serveOnce(
        _ reply: String,
        readingRequest: Bool = true,
        in scratch: Scratch
    ) throws -> (path: String, done: DispatchGroup) {
        let path = scratch.path + "/fake.sock"
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(listener >= 0)
        let bound = withUnixAddress(path) { bind(listener, $0, $1) }
        try #require(bound == 0 && listen(listener, 1) == 0)
        // A client that never connects must not leave `accept` waiting for ever.
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let done = DispatchGroup()
        DispatchQueue.global().async(group: done) {
            defer { close(listener) }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            defer { close(connection) }
            var request: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            if !readingRequest {
                // Closing with the request unread makes the client's next read after the reply
                // fail with ECONNRESET (a Unix socket's peer closed with data it never read).
                var waiting = pollfd(fd: connection, events: Int16(POLLIN), revents: 0)
                _ = poll(&waiting, 1, 20_000)
                request = Array("\r\n\r\n".utf8)
            }
            while request.firstRange(of: Array("\r\n\r\n".utf8)) == nil {
                let n = buffer.withUnsafeMutableBytes { read(connection, $0.baseAddress, $0.count) }
                guard n > 0 else { return }
                request += buffer[0..<n]
            }
            let bytes = Array(reply.utf8)
            _ = bytes.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
        }
        return (path, done)
    }

    @Test func aReplyCutShortOfItsContentLengthIsAnError() throws {
        let scratch = Scratch()
        let server = try serveOnce("HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n{\"events\":[{\"seq\":1", in: scratch)
        defer { _ = server.done.wait(timeout: .now() + 30) }
        let failure = #expect(throws: UnixHTTPClient.Failure.self) {
            try UnixHTTPClient(path: server.path).send(method: "GET", path: "/v1/head")
        }
        #expect(failure?.description.contains("cut short: 19 of 40 bytes") == true)
    }

    @Test func aNegativeContentLengthIsAnErrorNotACrash() throws {
        let scratch = Scratch()
        let server = try serveOnce("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}", in: scratch)
        defer { _ = server.done.wait(timeout: .now() + 30) }
        #expect(throws: UnixHTTPClient.Failure.self) {
            try UnixHTTPClient(path: server.path).send(method: "GET", path: "/v1/head")
        }
    }

    @Test func aWholeReplyFollowedByAResetIsStillTheReply() throws {
        let scratch = Scratch()
        let body = #"{"ok":true}"#
        let server = try serveOnce(
            "HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)",
            readingRequest: false,
            in: scratch
        )
        defer { _ = server.done.wait(timeout: .now() + 30) }
        let reply = try UnixHTTPClient(path: server.path).send(method: "POST", path: "/v1/subjects/erase", body: "{}")
        #expect(reply.status == 200)
        #expect(reply.text == body)
    }

    @Test func aWholeReplyIsReadWithItsStatusAndBody() throws {
        let scratch = Scratch()
        let body = #"{"seq":7}"#
        let server = try serveOnce(
            "HTTP/1.1 201 Created\r\ncontent-length: \(body.utf8.count)\r\n\r\n\(body)",
            in: scratch
        )
        defer { _ = server.done.wait(timeout: .now() + 30) }
        let reply = try UnixHTTPClient(path: server.path).send(method: "GET", path: "/v1/head")
        #expect(reply.status == 201)
        #expect(reply.text == body)
    }
}
