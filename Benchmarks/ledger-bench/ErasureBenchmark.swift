import Foundation
import Ledger

#if canImport(Glibc)
import Glibc
#endif

/// What an erasure costs as the ledger grows (issue 12): at each subject count, three erasures
/// timed one after another while another thread offers single durable appends at a fixed rate,
/// and those appends' latencies beside the same load with no erasure running.
///
/// Latency is measured from when an append was due, not from when it was sent, so an append held
/// up behind an erasure also counts the time the ones queued after it waited (no coordinated
/// omission). In process, the appends take the same locks as the server's writer does.
struct ErasureBenchmark {
    /// The subject counts to measure at (default 1,000, 100,000 and 1,000,000).
    let subjectCounts: [Int]
    /// Appends offered per second during both windows.
    let rate: Double

    func run() throws {
        print(
            "erasure benchmark — 3 erasures at \(subjectCounts.map { String($0) }.joined(separator: ", ")) subjects, "
                + "beside \(format(rate)) single appends/s offered; durable commits"
        )
        print(
            "subjects    erase (3 runs, s)           appends without erasure p50/p99/max ms   during erasures p50/p99/max ms"
        )
        for subjects in subjectCounts { try measure(at: subjects) }
    }

    private func measure(at subjects: Int) throws {
        let directory = scratchDirectory()
        // Kept when the byte scan finds something, so the page can be examined.
        var keep = false
        defer { if !keep { try? FileManager.default.removeItem(atPath: directory) } }
        let ledger = try Ledger.create(at: directory + "/ledger", catalogue: nil).ledger
        var created = 0
        while created < subjects {
            let count = min(Ledger.maxBatchSize, subjects - created)
            _ = try ledger.append((0..<count).map { Self.grant("erase-\(created + $0)@example.org") }, actor: "bench")
            created += count
        }
        // Erased subjects (even numbers, spread over the key store) are never ones the load
        // appends for (odd numbers).
        let victims = (0..<3).map { "erase-\(($0 * 15_838) % subjects / 2 * 2)@example.org" }
        let loadSubjects = subjects / 2

        let quiet = OfferedAppends(ledger: ledger, rate: rate, subjects: loadSubjects)
        quiet.start()
        Thread.sleep(forTimeInterval: 2)
        let without = try quiet.stop()

        // What the byte scan afterwards looks for: each victim's wrapped key and lookup hash.
        var needles: [[UInt8]] = []
        for victim in victims {
            guard let pseudonym = try ledger.pseudonym(of: victim),
                let record = try ledger.storedKeyRecord(pseudonym: pseudonym)
            else { throw ErasureBenchmarkError.victimMissing }
            needles += [Array(record[0..<60]), Array(record[60..<92]), Array(victim.utf8)]
        }

        let busy = OfferedAppends(ledger: ledger, rate: rate, subjects: loadSubjects)
        busy.start()
        Thread.sleep(forTimeInterval: 0.3)
        var eraseSeconds: [Double] = []
        for victim in victims {
            eraseSeconds.append(try seconds { _ = try ledger.erase(subject: victim, requestId: nil, actor: "bench") })
            Thread.sleep(forTimeInterval: 0.2)
        }
        let during = try busy.stop()

        let erased = eraseSeconds.map { String(format: "%.3f", $0) }.joined(separator: ", ")
        print(
            format(Double(subjects)).padding(toLength: 12, withPad: " ", startingAt: 0)
                + erased.padding(toLength: 28, withPad: " ", startingAt: 0)
                + without.summary.padding(toLength: 41, withPad: " ", startingAt: 0) + during.summary
                + "   (\(without.count) and \(during.count) appends)"
        )
        let scan = try ByteScan(directory: directory + "/ledger", needles: needles)
        print(
            "            byte scan of every file after the erasures: \(scan.files) files, "
                + "\(format(Double(scan.bytes) / 1e6)) MB; "
                + (scan.hits.isEmpty
                    ? "no wrapped key, lookup hash or external id of an erased subject"
                    : "FOUND in \(scan.hits.joined(separator: ", ")); the ledger is kept in \(directory)")
        )
        keep = !scan.hits.isEmpty
    }

    static func grant(_ subject: String) -> ClientEvent {
        ClientEvent(
            type: .consentGranted,
            subject: subject,
            purpose: "newsletter",
            notice: "policy-v1",
            data: Array(#"{"form":"footer","source":"web"}"#.utf8)
        )
    }
}

/// A thread appending one event at a time at a fixed offered rate, for subjects already in the
/// ledger, recording each append's latency from when it was due.
private final class OfferedAppends: @unchecked Sendable {
    // Invariant: `running`, `latencies` and `failure` are only touched under `lock`.
    private let lock = NSLock()
    private var running = true
    private var latencies: [Double] = []
    private var failure: (any Error)?
    private let ledger: Ledger
    private let interval: Double
    private let subjects: Int
    private var thread: Thread?

    struct Latencies {
        let sorted: [Double]
        var count: Int { sorted.count }
        var summary: String {
            guard !sorted.isEmpty else { return "none" }
            func at(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }
            return [at(0.5), at(0.99), sorted[sorted.count - 1]].map { String(format: "%.1f", $0 * 1_000) }.joined(
                separator: " / "
            )
        }
    }

    init(ledger: Ledger, rate: Double, subjects: Int) {
        self.ledger = ledger
        self.interval = 1 / rate
        self.subjects = max(1, subjects)
    }

    func start() {
        let thread = Thread { [self] in loop() }
        self.thread = thread
        thread.start()
    }

    /// Stops the load and returns its latencies; rethrows the first append that failed.
    func stop() throws -> Latencies {
        lock.withLock { running = false }
        while thread?.isFinished == false { usleep(1_000) }
        return try lock.withLock {
            if let failure { throw failure }
            return Latencies(sorted: latencies.sorted())
        }
    }

    private func loop() {
        var due = DispatchTime.now().uptimeNanoseconds
        var n = 0
        while lock.withLock({ running }) {
            due += UInt64(interval * 1e9)
            let now = DispatchTime.now().uptimeNanoseconds
            if now < due { usleep(UInt32((due - now) / 1_000)) }
            do {
                let subject = "erase-\(n % subjects * 2 + 1)@example.org"
                _ = try ledger.append([ErasureBenchmark.grant(subject)], actor: "bench")
            } catch {
                lock.withLock { failure = failure ?? error }
                return
            }
            let latency = Double(DispatchTime.now().uptimeNanoseconds - due) / 1e9
            lock.withLock { latencies.append(latency) }
            n += 7
        }
    }
}

enum ErasureBenchmarkError: Error {
    /// A subject chosen for erasure has no key record before its erasure.
    case victimMissing
}

/// Every regular file under a directory searched for byte strings: the check that an erasure
/// left nothing behind, at the benchmark's sizes (the tests make the same scan on small ledgers).
struct ByteScan {
    private(set) var files = 0
    private(set) var bytes = 0
    /// `file: needle number` for every needle found.
    private(set) var hits: [String] = []

    init(directory: String, needles: [[UInt8]]) throws {
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return }
        for case let relative as String in walker {
            let path = directory + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue
            else { continue }
            let contents = try Data(contentsOf: URL(fileURLWithPath: path))
            files += 1
            bytes += contents.count
            contents.withUnsafeBytes { haystack in
                for (index, needle) in needles.enumerated() {
                    if let at = needle.withUnsafeBytes({ Self.firstOffset(of: $0, in: haystack) }) {
                        hits.append("\(relative) at byte \(at) (page \(at / 4096)): needle \(index)")
                    }
                }
            }
        }
    }

    /// Where `needle` first occurs in `haystack`: `memchr` for its first byte, then a comparison
    /// (glibc's `memmem` is not exposed to Swift).
    private static func firstOffset(of needle: UnsafeRawBufferPointer, in haystack: UnsafeRawBufferPointer) -> Int? {
        guard let base = haystack.baseAddress, let needleBase = needle.baseAddress, let first = needle.first,
            needle.count <= haystack.count
        else {
            return nil
        }
        let last = haystack.count - needle.count
        var offset = 0
        while offset <= last {
            guard let hit = memchr(base + offset, Int32(first), last - offset + 1) else { return nil }
            let at = base.distance(to: UnsafeRawPointer(hit))
            if memcmp(base + at, needleBase, needle.count) == 0 { return at }
            offset = at + 1
        }
        return nil
    }
}
