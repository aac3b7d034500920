// Benchmarks for the ledger core (issue: durable appends and verify throughput).
//
// Run with a release build:  swift run -c release ledger-bench [--verify-events N] [--runs R] [--batches 1,100,1000]
//                            swift run -c release ledger-bench --growth   (5M events, 1M subjects; ~15–30 min)
//                            swift run -c release ledger-bench --erasure  (erasure latency and append stalls)
// Prints figures; asserts nothing. Each figure is the median of R runs on a fresh ledger.
import Foundation
import Ledger
import Projections

struct Arguments {
    var verifyEvents = 1_000_000
    var runs = 3
    var batches = [1, 100, 1_000]
    var projections = false
    var server = false
    var serverSeconds = 5.0
    /// A running server to load instead of starting one (for profiling).
    var serverSocket: String?
    var projectionEvents = 1_000_000
    var growth = false
    var growthEvents = 5_000_000
    var growthSubjects = 1_000_000
    var growthSample = 200_000
    var erasure = false
    var erasureSubjects = [1_000, 100_000, 1_000_000]
    var erasureRate = 500.0

    init() {
        var iterator = CommandLine.arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--verify-events": verifyEvents = iterator.next().flatMap(Int.init) ?? verifyEvents
            case "--runs": runs = iterator.next().flatMap(Int.init) ?? runs
            case "--batches":
                batches = iterator.next().map { $0.split(separator: ",").compactMap { Int($0) } } ?? batches
            case "--projections": projections = true
            case "--server": server = true
            case "--decode": break
            case "--socket": serverSocket = iterator.next()
            case "--server-seconds": serverSeconds = iterator.next().flatMap(Double.init) ?? serverSeconds
            case "--projection-events": projectionEvents = iterator.next().flatMap(Int.init) ?? projectionEvents
            case "--growth": growth = true
            case "--growth-events": growthEvents = iterator.next().flatMap(Int.init) ?? growthEvents
            case "--growth-subjects": growthSubjects = iterator.next().flatMap(Int.init) ?? growthSubjects
            case "--growth-sample": growthSample = iterator.next().flatMap(Int.init) ?? growthSample
            case "--erasure": erasure = true
            case "--erasure-subjects":
                erasureSubjects =
                    iterator.next().map { $0.split(separator: ",").compactMap { Int($0) } } ?? erasureSubjects
            case "--erasure-rate": erasureRate = iterator.next().flatMap(Double.init) ?? erasureRate
            default:
                print(
                    "usage: ledger-bench [--verify-events N] [--runs R] [--batches 1,100,1000] [--projections [--projection-events N]] [--server [--server-seconds S] [--socket PATH]] [--growth [--growth-events N] [--growth-subjects N] [--growth-sample N]] [--erasure [--erasure-subjects 1000,100000,1000000] [--erasure-rate R]]"
                )
                exit(2)
            }
        }
    }
}

func scratchDirectory() -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-bench-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func format(_ value: Double) -> String { String(Int(value.rounded())) }

/// Client events of about 150 bytes of data each, over 10,000 subjects.
func makeEvents(_ count: Int, catalogue: Catalogue) throws -> [ClientEvent] {
    try (0..<count).map { i in
        let data =
            #"{"source":"web-signup","ip":"195.159.103.xx","userAgent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0","campaign":"spring-2026","form":"footer","n":\#(i)}"#
        let event = JSONValue.object([
            ("type", .string("consent.granted")), ("subject", .string("user\(i % 10_000)@example.com")),
            ("purpose", .string("newsletter")), ("notice", .string("policy-v1")), ("data", .raw(data)),
        ])
        return try ClientEvent.decode(json: event.utf8, catalogue: catalogue)
    }
}

func appendRate(batch: Int, total: Int, events: [ClientEvent]) throws -> Double {
    let directory = scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let ledger = try Ledger.create(at: directory + "/ledger", catalogue: nil).ledger
    // Create the subjects first, so the figure is appends, not key creation.
    for start in stride(from: 0, to: 10_000, by: 1_000) {
        _ = try ledger.append(Array(events[start..<(start + 1_000)]), actor: "bench")
    }
    let elapsed = try seconds {
        var index = 0
        while index < total {
            let size = min(batch, total - index)
            _ = try ledger.append(Array(events[index..<(index + size)]), actor: "bench")
            index += size
        }
    }
    return Double(total) / elapsed
}

let arguments = Arguments()
let catalogue = try Catalogue.bundled()
if CommandLine.arguments.contains("--decode") {
    let line = Array(
        #"{"type":"consent.granted","subject":"load1-1@example.com","purpose":"newsletter","notice":"policy-v1","data":{"source":"load","ip":"195.159.103.xx","userAgent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0","n":1}}"#
            .utf8
    )
    let elapsed = try seconds { for _ in 0..<100_000 { _ = try ClientEvent.decode(json: line, catalogue: catalogue) } }
    print("decode: \(format(100_000 / elapsed)) events/s on one core")
    exit(0)
}
if arguments.server {
    try ServerBenchmark(seconds: arguments.serverSeconds, runs: arguments.runs, existingSocket: arguments.serverSocket)
        .run()
    exit(0)
}
if arguments.growth {
    try GrowthBenchmark(
        events: max(arguments.growthEvents, arguments.growthSubjects),
        subjects: arguments.growthSubjects,
        sample: arguments.growthSample
    )
    .run()
    exit(0)
}
if arguments.erasure {
    try ErasureBenchmark(subjectCounts: arguments.erasureSubjects, rate: arguments.erasureRate).run()
    exit(0)
}
if arguments.projections {
    try ProjectionBenchmark(events: arguments.projectionEvents, runs: arguments.runs).run()
    exit(0)
}
let pool = try makeEvents(100_000, catalogue: catalogue)
let sampleRecord = pool[0]
print(
    "ConsentLedger core benchmark — \(ProcessInfo.processInfo.activeProcessorCount) cores, median of \(arguments.runs) runs"
)
print("event data: \(sampleRecord.data?.count ?? 0) bytes of JSON; every commit durable (fsync)")
print("")
print("batch   events   ledger appends/s   bare LMDB puts/s   ledger/bare")
for (batch, total) in [(1, 2_000), (100, 20_000), (1_000, 100_000)] where arguments.batches.contains(batch) {
    var ours: [Double] = []
    var bare: [Double] = []
    for _ in 0..<arguments.runs {
        ours.append(try appendRate(batch: batch, total: total, events: pool))
        let directory = scratchDirectory()
        bare.append(try BareLMDBBaseline.durablePuts(directory: directory, count: total, batch: batch, recordSize: 330))
        try? FileManager.default.removeItem(atPath: directory)
    }
    let (o, b) = (median(ours), median(bare))
    print(
        "\(String(batch).padding(toLength: 8, withPad: " ", startingAt: 0))\(String(total).padding(toLength: 9, withPad: " ", startingAt: 0))"
            + "\(format(o).padding(toLength: 19, withPad: " ", startingAt: 0))\(format(b).padding(toLength: 19, withPad: " ", startingAt: 0))"
            + String(Int((o / b * 100).rounded())) + " %   (runs: \(ours.map(format).joined(separator: ", ")))"
    )
}

print("")
print("verify over \(arguments.verifyEvents) events")
let directory = scratchDirectory()
defer { try? FileManager.default.removeItem(atPath: directory) }
let ledger = try Ledger.create(at: directory + "/ledger", catalogue: nil).ledger
let fill = try seconds {
    var index = 0
    while index < arguments.verifyEvents {
        let size = min(1_000, arguments.verifyEvents - index)
        let start = index % (pool.count - 1_000)
        _ = try ledger.append(Array(pool[start..<(start + size)]), actor: "bench")
        index += size
    }
}
print("  filled with batches of 1,000 at \(format(Double(arguments.verifyEvents) / fill)) events/s")
var verifyRates: [Double] = []
for _ in 0..<arguments.runs {
    var report: VerificationReport?
    let elapsed = try seconds { report = try ledger.verify() }
    guard report?.isValid == true else {
        print("  verify FAILED: \(String(describing: report?.failure))")
        exit(1)
    }
    verifyRates.append(Double(arguments.verifyEvents) / elapsed)
}
print("  verify: \(format(median(verifyRates))) events/s (runs: \(verifyRates.map(format).joined(separator: ", ")))")
