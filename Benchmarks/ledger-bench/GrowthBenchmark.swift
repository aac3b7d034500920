import Foundation
import Ledger
import Logging
import Projections

/// Whether the ledger stays fast as it grows (issue 11): the same 200,000-event import timed on a
/// fresh ledger and again after the ledger was filled to `subjects` subjects and to `events`
/// events; at `subjects` subjects, the per-purpose counts as of a past date, a rebuild and
/// erasures. Every figure comes from this one process, so the ratios hold while the machine's
/// speed drifts; the absolute rates do not travel.
struct GrowthBenchmark {
    /// Events the ledger is filled to last (default 5M).
    let events: Int
    /// Subjects the first fill creates, one event each (default 1M).
    let subjects: Int
    /// Events in the timed import (default 200,000, over 20,000 subjects new to the ledger).
    let sample: Int
    /// What the fills' catch-ups keep between boundaries.
    private let fillSnapshots = SnapshotContinuation(keepsSpareBuffer: true)

    func run() throws {
        let directory = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        print("growth benchmark — import of \(sample) events at 0, \(subjects) and \(events) events; durable commits")
        // Opened as `ledgerctl import` opens it: the imports write their snapshots beside them
        // (`importWritingSnapshotsBeside`); the fills write theirs at each boundary they cross,
        // timed with them, as the snapshot observer did inside their appends before.
        var options = Ledger.Options()
        options.observers = []
        let ledger = try Ledger.create(at: directory + "/ledger", catalogue: nil, options: options).ledger
        var quiet = Logger(label: "ledger-bench")
        quiet.logLevel = .warning
        let catalogue = try ledger.catalogue()

        var rates: [(String, Double)] = []
        func timedImport(_ label: String) throws {
            let file = directory + "/sample-\(rates.count).ndjson"
            try Self.writeSample(count: sample, prefix: "sample\(rates.count)", to: file)
            defer { try? FileManager.default.removeItem(atPath: file) }
            var summary: Ledger.ImportSummary?
            let elapsed = try seconds {
                summary = try ledger.importWritingSnapshotsBeside(
                    from: try LineReader(path: file),
                    actor: "bench",
                    catalogue: catalogue,
                    logger: quiet
                )
            }
            guard summary?.appended == sample else {
                print("  import appended \(summary?.appended ?? 0) of \(sample) events")
                exit(1)
            }
            let rate = Double(sample) / elapsed
            rates.append((label, rate))
            print("  import at \(label): \(format(rate)) events/s")
        }

        try timedImport("0 events")
        let fillSubjects = try seconds { try fill(ledger, to: subjects + sample, newSubjects: true) }
        print("  filled with \(subjects) new subjects at \(format(Double(subjects) / fillSubjects)) events/s")
        try timedImport("\(try ledger.head().seq) events, \(subjects) subjects")

        // Counts, rebuild and erasure at `subjects` subjects.
        let start = try ledger.event(seq: 1)?.recordedAt ?? Timestamp(milliseconds: 0)
        let end = try ledger.head().recordedAt ?? start
        let asOf = Timestamp(milliseconds: (start.milliseconds + end.milliseconds) / 2)
        var counted: [PurposeCount] = []
        let countSeconds = try seconds {
            counted = try ledger.purposeCounts(asOf: asOf)
        }
        print(
            "  purposes as of the middle of the log: \(String(format: "%.3f", countSeconds)) s (\(counted.count) purposes)"
        )
        var report: RebuildReport?
        let rebuildSeconds = try seconds { report = try ledger.rebuildProjections() }
        let head = try ledger.head().seq
        print(
            "  rebuild: \(format(Double(head) / rebuildSeconds)) events/s over \(head) events"
                + (report?.matches == true ? "" : " — DIFFERENCES FOUND")
        )
        var eraseSeconds: [Double] = []
        for n in 0..<3 {
            eraseSeconds.append(
                try seconds {
                    _ = try ledger.erase(subject: "fill-\(n * 7_919)@example.org", requestId: nil, actor: "bench")
                }
            )
        }
        print(
            "  erase at \(subjects) subjects: \(eraseSeconds.map { String(format: "%.3f s", $0) }.joined(separator: ", "))"
        )

        let more = try seconds { try fill(ledger, to: events, newSubjects: false) }
        print(
            "  filled to \(try ledger.head().seq) events at \(format(Double(max(0, events - subjects)) / more)) events/s"
        )
        try timedImport("\(try ledger.head().seq) events")

        print("")
        for (label, rate) in rates.dropFirst() {
            print("  import at \(label) / fresh: \(String(format: "%.2f", rate / rates[0].1))×")
        }
    }

    /// Appends in batches of 10,000 until the ledger holds `target` events: each a new subject
    /// (`fill-0`, `fill-1`, …, `subjects` of them in all), or grants for subjects already there.
    private func fill(_ ledger: Ledger, to target: Int, newSubjects: Bool) throws {
        let interval = Int(max(1, try ledger.snapshotInterval()))
        var next = Int(try ledger.head().seq)
        var created = 0
        var generator = SystemRandomNumberGenerator()
        while next < target {
            let count = min(Ledger.maxBatchSize, target - next)
            let batch = (0..<count).map { i -> ClientEvent in
                let n = newSubjects ? created + i : Int.random(in: 0..<subjects, using: &generator)
                return ClientEvent(
                    type: .consentGranted,
                    subject: "fill-\(n)@example.org",
                    purpose: "newsletter",
                    notice: "policy-v1",
                    data: Array(#"{"form":"footer","source":"web"}"#.utf8)
                )
            }
            _ = try ledger.append(batch, actor: "bench")
            // The snapshots of the boundaries this batch crossed, one at a time.
            if (next + count) / interval > next / interval {
                try SnapshotCatchUp.run(ledger, continuation: fillSnapshots)
            }
            next += count
            created += count
        }
    }

    /// `count` lines shaped like `../shared/bench`'s: 79 % grants, 20 % withdrawals, 1 % access
    /// requests, over 20,000 subjects new to the ledger (each named first in the first 20,000 lines).
    static func writeSample(count: Int, prefix: String, to path: String) throws {
        let purposes = ["newsletter", "surveys", "web-analytics"]
        var generator = SystemRandomNumberGenerator()
        var text = ""
        text.reserveCapacity(count * 300)
        for i in 0..<count {
            let subject = i < 20_000 ? i : Int.random(in: 0..<20_000, using: &generator)
            let roll = Int.random(in: 0..<100, using: &generator)
            let purpose = purposes[Int.random(in: 0..<3, using: &generator)]
            let data =
                #""data":{"source":"web-signup","ip":"195.159.103.\#(i % 250)","userAgent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0","form":"footer","language":"nb-NO"}"#
            if roll == 0 {
                text += #"{"type":"access.requested","subject":"\#(prefix)-\#(subject)@example.org",\#(data)}"#
            } else if roll <= 20 {
                text +=
                    #"{"type":"consent.withdrawn","subject":"\#(prefix)-\#(subject)@example.org","purpose":"\#(purpose)",\#(data)}"#
            } else {
                text +=
                    #"{"type":"consent.granted","subject":"\#(prefix)-\#(subject)@example.org","purpose":"\#(purpose)","notice":"policy-v1",\#(data)}"#
            }
            text += "\n"
        }
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }
}
