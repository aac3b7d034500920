import Foundation
import LedgerClient

/// Issue 4's figures: load over the Unix socket of a real `ledgerctl serve` (release build, beside
/// this binary), against the ledger and against a trivial route of the same server (`/healthz`,
/// the HTTP ceiling). Clients run on the same two cores as the server.
struct ServerBenchmark {
    let seconds: Double
    let runs: Int
    /// Connections sending NDJSON batches at once (env LEDGER_BENCH_BATCH_CONNECTIONS; default 8).
    var batchConnections: Int { Int(ProcessInfo.processInfo.environment["LEDGER_BENCH_BATCH_CONNECTIONS"] ?? "") ?? 8 }

    /// A running server to load instead of starting one (`--socket`).
    let existingSocket: String?

    func run() throws {
        if let existingSocket {
            try measure(existingSocket)
            return
        }
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
            "ledgerctl"
        ).path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            print("build ledgerctl first: swift build -c release --product ledgerctl")
            exit(2)
        }
        let ledger = directory + "/ledger"
        let initialise = Process()
        initialise.executableURL = URL(fileURLWithPath: binary)
        initialise.arguments = ["init", "--ledger", ledger]
        initialise.standardOutput = FileHandle.nullDevice
        try initialise.run()
        initialise.waitUntilExit()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: binary)
        server.arguments = ["serve", "--ledger", ledger]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            kill(server.processIdentifier, SIGTERM)
            server.waitUntilExit()
        }
        let socket = ledger + "/ledger.sock"
        while !UnixHTTPClient(path: socket).isAnswering() { usleep(20_000) }
        try measure(socket)
    }

    private func measure(_ socket: String) throws {
        print(
            "server benchmark — \(ProcessInfo.processInfo.activeProcessorCount) cores shared by server and clients, \(seconds) s per figure, median of \(runs)"
        )
        print("")
        print("load                                   ledger            trivial route    ledger/trivial")
        // LEDGER_BENCH_ONLY=appends measures single appends alone; any other value, batches alone.
        let only = ProcessInfo.processInfo.environment["LEDGER_BENCH_ONLY"]
        for connections in [16, 64] where only == nil || only == "appends" {
            let ours = try median(
                (0..<runs).map { _ in try closedLoop(socket, connections: connections) { try $0.appendOne() } }
            )
            let ceiling = try median(
                (0..<runs).map { _ in try closedLoop(socket, connections: connections) { try $0.trivial() } }
            )
            print(row("single appends, \(connections) connections", ours, ceiling, unit: "req/s"))
        }
        if only == "appends" { return }
        let batches = try median(
            (0..<runs).map { _ in try closedLoop(socket, connections: batchConnections) { try $0.appendBatch() } * 1_000
            }
        )
        print(row("NDJSON batches of 1,000, \(batchConnections) conns", batches, nil, unit: "events/s"))
        if only != nil { return }
        let ledgerLatency = try openLoop(socket, rate: 2_000, connections: 16) { try $0.appendOne() }
        let trivialLatency = try openLoop(socket, rate: 2_000, connections: 16) { try $0.trivial() }
        print(
            "latency at 2,000 appends/s offered (16 conns): p50 \(ms(ledgerLatency.p50)) ms, p99 \(ms(ledgerLatency.p99)) ms"
                + "  (trivial route: p50 \(ms(trivialLatency.p50)) ms, p99 \(ms(trivialLatency.p99)) ms)"
        )
    }

    private func row(_ name: String, _ value: Double, _ ceiling: Double?, unit: String) -> String {
        let ratio = ceiling.map { " \(Int(($0 > 0 ? value / $0 : 0) * 100)) %" } ?? ""
        return name.padding(toLength: 39, withPad: " ", startingAt: 0)
            + "\(Int(value)) \(unit)".padding(toLength: 18, withPad: " ", startingAt: 0)
            + (ceiling.map { "\(Int($0)) req/s" } ?? "").padding(toLength: 17, withPad: " ", startingAt: 0) + ratio
    }

    private func ms(_ nanoseconds: UInt64) -> String { String(format: "%.2f", Double(nanoseconds) / 1e6) }

    /// Each connection sends requests back to back for `seconds`; returns requests per second.
    private func closedLoop(
        _ socket: String,
        connections: Int,
        _ request: @escaping @Sendable (Load) throws -> Void
    ) throws -> Double {
        let done = Tally()
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        onThreads(connections) { index in
            guard let load = try? Load(socket: socket, index: index) else { return }
            var count = 0
            while DispatchTime.now().uptimeNanoseconds < deadline {
                guard (try? request(load)) != nil else { break }
                count += 1
            }
            done.add(count)
        }
        return Double(done.total) / seconds
    }

    /// Sends at a fixed total `rate` spread over `connections`; returns latency percentiles.
    private func openLoop(
        _ socket: String,
        rate: Int,
        connections: Int,
        _ request: @escaping @Sendable (Load) throws -> Void
    ) throws
        -> (p50: UInt64, p99: UInt64)
    {
        let latencies = Samples()
        let interval = UInt64(1e9) * UInt64(connections) / UInt64(rate)
        let start = DispatchTime.now().uptimeNanoseconds
        let deadline = start + UInt64(seconds * 1e9)
        onThreads(connections) { index in
            guard let load = try? Load(socket: socket, index: index) else { return }
            var next = start + interval * UInt64(index) / UInt64(connections)
            while next < deadline {
                let now = DispatchTime.now().uptimeNanoseconds
                if now < next { usleep(UInt32((next - now) / 1_000)) }
                let sent = max(next, DispatchTime.now().uptimeNanoseconds)
                guard (try? request(load)) != nil else { break }
                latencies.add(DispatchTime.now().uptimeNanoseconds - next)
                next += interval
                _ = sent
            }
        }
        let sorted = latencies.sorted
        guard !sorted.isEmpty else { return (0, 0) }
        return (sorted[sorted.count / 2], sorted[sorted.count * 99 / 100])
    }
}

/// One client connection with its own subjects.
final class Load: @unchecked Sendable {
    // Invariant: each Load is used by one thread only.
    private let connection: KeepAliveConnection
    private let index: Int
    private var n = 0

    init(socket: String, index: Int) throws {
        connection = try KeepAliveConnection(path: socket)
        self.index = index
    }

    private func event() -> String {
        n += 1
        return
            #"{"type":"consent.granted","subject":"load\#(index)-\#(n % 500)@example.com","purpose":"newsletter","notice":"policy-v1","data":{"source":"load","ip":"195.159.103.xx","userAgent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0","n":\#(n)}}"#
    }

    func appendOne() throws {
        guard try connection.send(method: "POST", path: "/v1/events", body: Array(event().utf8)) == 201 else {
            throw UnixHTTPClient.Failure(description: "refused")
        }
    }

    /// One batch body per connection, built once: events without ids append anew every time, and
    /// the load generator leaves the cores to the server.
    private lazy var batchBody: [UInt8] = Array((0..<1_000).map { _ in event() }.joined(separator: "\n").utf8)

    func appendBatch() throws {
        guard
            try connection.send(
                method: "POST",
                path: "/v1/events",
                body: batchBody,
                contentType: "application/x-ndjson"
            ) == 201
        else {
            throw UnixHTTPClient.Failure(description: "refused")
        }
    }

    func trivial() throws {
        guard try connection.send(method: "GET", path: "/healthz") == 200 else {
            throw UnixHTTPClient.Failure(description: "refused")
        }
    }
}

final class Tally: @unchecked Sendable {
    // Invariant: `value` is only touched under `lock`.
    private var value = 0
    private let lock = NSLock()
    func add(_ n: Int) {
        lock.lock()
        value += n
        lock.unlock()
    }
    var total: Int {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}

final class Samples: @unchecked Sendable {
    // Invariant: `values` is only touched under `lock`.
    private var values: [UInt64] = []
    private let lock = NSLock()
    func add(_ v: UInt64) {
        lock.lock()
        values.append(v)
        lock.unlock()
    }
    var sorted: [UInt64] {
        lock.lock()
        defer { lock.unlock() }
        return values.sorted()
    }
}

/// Runs `body` on `count` threads at once (one per connection) and waits for all of them;
/// `DispatchQueue.concurrentPerform` would run only as many at once as there are cores.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    group.wait()
}
