import Foundation
import Ledger
import Projections

/// A clock the benchmark moves forward, so recording times spread over a year.
final class SteppingClock: LedgerClock, @unchecked Sendable {
    // Invariant: only the benchmark's single thread sets `current`.
    var current = Timestamp(rfc3339: "2025-01-01T00:00:00.000Z") ?? Timestamp(milliseconds: 0)
    func now() -> Timestamp { current }
}

/// Issue 3's figures: on a ledger of `events` events over 100,000 subjects, one subject's state as
/// of a random past date (median and p99), the whole ledger's state as of a random date (from
/// snapshots), and rebuild events per second.
struct ProjectionBenchmark {
    let events: Int
    let runs: Int

    func run() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = SteppingClock()
        var options = Ledger.Options(clock: clock)
        options.observers = [SnapshotObserver()]
        let ledger = try Ledger.create(at: directory + "/ledger", catalogue: nil, options: options).ledger
        let catalogue = try ledger.catalogue()
        let subjects = 100_000
        let purposes = catalogue.purposes.filter { $0.basis == .consent }.map(\.id)
        var generator = SystemRandomNumberGenerator()
        var pseudonyms: [String] = []
        pseudonyms.reserveCapacity(subjects)
        let batches = events / 1_000
        let msPerBatch = Int64(365 * 86_400_000) / Int64(max(batches, 1))
        print(
            "projections benchmark — \(events) events, \(subjects) subjects, snapshot every \(try ledger.snapshotInterval()) events"
        )
        let fill = try seconds {
            for batch in 0..<batches {
                clock.current = Timestamp(milliseconds: clock.current.milliseconds + msPerBatch)
                let lines = try (0..<1_000).map { i -> ClientEvent in
                    let n = batch * 1_000 + i
                    let subject = "person\(n % subjects)@example.no"
                    let purpose = purposes[Int.random(in: 0..<purposes.count, using: &generator)]
                    let withdraw = n >= subjects && Int.random(in: 0..<4, using: &generator) == 0
                    var fields: [(String, JSONValue)] = [
                        ("type", .string(withdraw ? "consent.withdrawn" : "consent.granted")),
                        ("subject", .string(subject)), ("purpose", .string(purpose)),
                    ]
                    if !withdraw { fields.append(("notice", .string("policy-v1"))) }
                    return try ClientEvent.decode(json: JSONValue.object(fields).utf8, catalogue: catalogue)
                }
                let results = try ledger.append(lines, actor: "bench")
                if pseudonyms.count < subjects { pseudonyms += results.map(\.subject) }
            }
        }
        print("  filled at \(format(Double(events) / fill)) events/s")
        let first = try ledger.event(seq: 1)?.recordedAt.milliseconds ?? 0
        let last = try ledger.head().recordedAt?.milliseconds ?? first
        func randomDate() -> Timestamp { Timestamp(milliseconds: Int64.random(in: first...last, using: &generator)) }
        let rules = try ledger.projectionRules()

        var latencies: [Double] = []
        for _ in 0..<2_000 {
            let pseudonym = pseudonyms[Int.random(in: 0..<pseudonyms.count, using: &generator)]
            let date = randomDate()
            let elapsed = try seconds {
                _ = try ledger.subjectProjection(pseudonym: pseudonym, asOf: date).consents(at: date, rules: rules)
            }
            latencies.append(elapsed * 1e6)
        }
        latencies.sort()
        print(
            "  one subject as of a random date: median \(format(latencies[latencies.count / 2])) µs, p99 \(format(latencies[latencies.count * 99 / 100])) µs (2,000 queries)"
        )

        var whole: [Double] = []
        for _ in 0..<max(runs, 5) {
            let date = randomDate()
            whole.append(
                try seconds { _ = try ledger.purposeCounts(asOf: date) }
            )
        }
        print(
            "  whole ledger as of a random date: median \(format(median(whole) * 1000)) ms (runs: \(whole.map { format($0 * 1000) }.joined(separator: ", ")) ms)"
        )

        let size = try ledger.head().seq
        let root = try ledger.merkleRoot(size: size)
        var generate: [Double] = []
        var check: [Double] = []
        for _ in 0..<2_000 {
            let seq = UInt64.random(in: 1...size, using: &generator)
            var proof: [[UInt8]] = []
            generate.append(try seconds { proof = try ledger.inclusionProof(seq: seq, treeSize: size) } * 1e6)
            guard let event = try ledger.event(seq: seq) else { continue }
            var valid = false
            check.append(
                seconds {
                    valid = MerkleTree.verifyInclusion(
                        leafHash: MerkleTree.leafHash(event.hash),
                        index: seq - 1,
                        size: size,
                        path: proof,
                        root: root
                    )
                } * 1e6
            )
            guard valid else {
                print("  inclusion proof of seq \(seq) does NOT verify")
                exit(1)
            }
        }
        generate.sort()
        check.sort()
        print(
            "  inclusion proof at \(size) events: generate median \(format(generate[1_000])) µs, p99 \(format(generate[1_980])) µs; verify median \(format(check[1_000])) µs (2,000 random seqs)"
        )

        var rebuilds: [Double] = []
        for _ in 0..<runs {
            var report: RebuildReport?
            let elapsed = try seconds { report = try ledger.rebuildProjections() }
            guard report?.matches == true else {
                print("  rebuild MISMATCH: \(report?.difference ?? "?")")
                exit(1)
            }
            rebuilds.append(Double(events) / elapsed)
        }
        print("  rebuild: \(format(median(rebuilds))) events/s (runs: \(rebuilds.map(format).joined(separator: ", ")))")
    }
}
