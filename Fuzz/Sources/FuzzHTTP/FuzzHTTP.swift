import FuzzSupport
import Ledger
import LedgerServer

#if canImport(Glibc)
import Glibc
#endif

/// The socket of a server embedded in this process (``EmbeddedServer``), on a fresh ledger with
/// the bundled catalogue, started once.
private let socketPath: String = {
    signal(SIGPIPE, SIG_IGN)
    let temporary = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    var template = Array((temporary + "/http-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { fatalError("fuzz harness: cannot make a directory") }
    let directory = String(cString: made)
    do {
        _ = try Ledger.create(at: directory + "/ledger", catalogue: try Catalogue.bundled())
        try EmbeddedServer.start(ledgerAt: directory + "/ledger", socketPath: directory + "/ledger.sock")
    } catch {
        fatalError("fuzz harness: cannot serve a ledger: \(error)")
    }
    return directory + "/ledger.sock"
}()

/// Milliseconds the server gets to answer and close after the input ends; longer is a stall
/// (`scripts/fuzz` also gives every input 10 s).
private let patience: Int32 = 8_000

/// Target 6: HTTP request handling, the whole stack in this process. The input is sent as it is,
/// as the bytes of one connection (so it may hold several pipelined requests, chunked bodies,
/// any headers), then the connection's write side is shut. The server must answer and close
/// within ``patience`` (no stall), every answer must be an HTTP/1.1 response, and none may be a
/// 500: every bad request gets a 4xx with its code (SPEC §7). A crash or a hang of the server is
/// a crash or a hang of this process, which libFuzzer reports.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let connection = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    FuzzInput.require(connection >= 0, "cannot open a socket")
    defer { close(connection) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let path = Array(socketPath.utf8)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (index, byte) in path.prefix(raw.count - 1).enumerated() { raw[index] = byte }
    }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(connection, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    FuzzInput.require(connected == 0, "cannot connect to the embedded server (errno \(errno))")
    var sent = 0
    while sent < size {
        let count = send(connection, data + sent, size - sent, Int32(MSG_NOSIGNAL))
        // The server may close early (a refused request): what it answered still counts.
        guard count > 0 else { break }
        sent += count
    }
    shutdown(connection, Int32(SHUT_WR))
    var answer: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        FuzzInput.require(
            waitForInput(on: connection),
            "the server neither answered nor closed within \(patience / 1000) s"
        )
        let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
        if count <= 0 { break }
        answer += buffer[0..<count]
    }
    guard !answer.isEmpty else { return 0 }
    FuzzInput.require(answer.starts(with: Array("HTTP/1.1 ".utf8)), "the answer is not an HTTP/1.1 response")
    FuzzInput.require(!contains(answer, Array("HTTP/1.1 500".utf8)), "the server answered 500")
    return 0
}

/// Whether `needle` occurs in `haystack`.
private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard haystack.count >= needle.count else { return false }
    for start in 0...(haystack.count - needle.count) where haystack[start..<start + needle.count].elementsEqual(needle)
    {
        return true
    }
    return false
}

/// Whether `connection` has bytes (or its end) to read within ``patience``. A poll interrupted by a
/// signal (libFuzzer's timeout alarm, SIGALRM every few seconds) is resumed, not taken as a stall.
private func waitForInput(on connection: Int32) -> Bool {
    var clock = timespec()
    clock_gettime(CLOCK_MONOTONIC, &clock)
    let deadline = Int64(clock.tv_sec) * 1000 + Int64(clock.tv_nsec) / 1_000_000 + Int64(patience)
    while true {
        clock_gettime(CLOCK_MONOTONIC, &clock)
        let left = deadline - (Int64(clock.tv_sec) * 1000 + Int64(clock.tv_nsec) / 1_000_000)
        guard left > 0 else { return false }
        var poller = pollfd(fd: connection, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, Int32(left))
        if ready > 0 { return true }
        if ready < 0, errno == EINTR { continue }
        return false
    }
}
