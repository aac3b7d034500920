import TestSupport
import Testing

@testable import Ledger
@testable import Projections

/// Projection snapshots (``SnapshotStore``, ``SnapshotObserver``, ``SnapshotCatchUp``) against a
/// model: with small snapshot intervals and seeded appends (grants, withdrawals, requests,
/// erasures, batches that cross several intervals at once, stretches written without the
/// observer and caught up later), after every commit the stored snapshot seqs equal the model's,
/// `snapshot(atOrBefore:)` finds the model's nearest one with the bytes of a fold from seq 1, and
/// the projection as of random times (nearest snapshot + catch-up) equals a full fold from seq 1.
struct SnapshotModelTests {
    /// The log as read back, for full folds from seq 1.
    struct Log {
        var events: [StoredEvent] = []

        mutating func catchUp(_ ledger: Ledger) throws {
            try ledger.forEachEvent(after: UInt64(events.count)) { event in
                events.append(event)
                return true
            }
        }

        func fold(first count: Int, rules: ProjectionRules) -> LedgerProjection {
            var projection = LedgerProjection()
            for event in events.prefix(count) { projection.apply(event, rules: rules) }
            return projection
        }

        func fold(asOf time: Timestamp, rules: ProjectionRules) -> LedgerProjection {
            fold(first: events.prefix { $0.recordedAt <= time }.count, rules: rules)
        }
    }

    static func events(_ random: inout SplitMix64, count: Int, subjects: Int, now: Timestamp) throws -> [ClientEvent] {
        var events: [ModelEvent] = []
        while events.count < count {
            let subject = "snap-\(random.below(subjects))"
            let purpose = random.pick(modelConsentPurposes) ?? "newsletter"
            switch random.below(10) {
            case 0..<5:
                var fields = [("purpose", purpose), ("notice", "policy-v1")]
                if random.chance(30) {
                    // Back-dated, with an expiry that may already have passed.
                    fields.append(("occurredAt", now.adding(days: -random.inRange(4...40)).rfc3339))
                    if random.chance(50) {
                        fields.append(("expiresAt", now.adding(days: random.inRange(-3...3)).rfc3339))
                    }
                } else if random.chance(20) {
                    fields.append(("expiresAt", now.adding(days: random.inRange(1...3)).rfc3339))
                }
                events.append(ModelEvent("consent.granted", subject: subject, fields))
            case 5..<8:
                events.append(ModelEvent("consent.withdrawn", subject: subject, [("purpose", purpose)]))
            default:
                // A request opened, and sometimes closed in the same batch (each line sees the ones before).
                let id = random.uuid()
                events.append(ModelEvent("access.requested", subject: subject, [("eventId", id)]))
                if random.chance(50) {
                    events.append(ModelEvent("access.completed", subject: subject, [("requestId", id)]))
                }
            }
        }
        return try events.prefix(count).map { try $0.decoded() }
    }

    /// Runs the model; returns how many of the stored snapshots are deltas.
    @discardableResult
    func run(seed: UInt64, interval: UInt64, subjects: Int, rounds: Int, preloaded: Int = 0) throws -> Int {
        let directory = TemporaryDirectory()
        let clock = ManualClock()
        func options(observing: Bool) -> Ledger.Options {
            var options = Fixture.options(clock: clock, seed: "snapshots-\(seed)")
            options.observers = observing ? [SnapshotObserver()] : []
            return options
        }
        var ledger: Ledger? = try Ledger.create(
            at: directory.ledger,
            catalogue: nil,
            snapshotInterval: interval,
            options: options(observing: true)
        ).ledger
        var observing = true
        // The background writer's kept fold, for the lifetime of one "server" (until a reopen).
        var continuation = SnapshotContinuation()
        var random = SplitMix64(seed: seed)
        var log = Log()
        var covered: UInt64 = 0  // the model: a snapshot at every multiple of `interval` up to here
        var live: [String] = []
        if preloaded > 0, let current = ledger {
            // Subjects no later event touches: snapshots large beside what an interval changes,
            // so they are stored as deltas.
            _ = try current.append(
                try (0..<preloaded).map { try Fixture.grant("quiet-\($0)@example.no") },
                actor: "snapshots"
            )
            try log.catchUp(current)
            covered = UInt64(preloaded)
        }
        for round in 0..<rounds {
            let context = "seed \(seed), interval \(interval), round \(round)"
            let current = try #require(ledger)
            clock.advance(milliseconds: Int64(random.chance(20) ? 0 : random.inRange(1...90_000_000)))
            let op = random.below(100)
            if op < 8 {
                // Reopen, with or without the observer (a stretch of one-shot processes without it).
                observing = random.chance(60)
                continuation = SnapshotContinuation()
                ledger = nil
                ledger = try Ledger(openingAt: directory.ledger, options: options(observing: observing))
            } else if op < 12, !observing {
                // The server's background writer.
                try SnapshotCatchUp.run(current, continuation: continuation)
                covered = UInt64(log.events.count)
            } else if op < 18, let subject = random.pick(live) {
                _ = try current.erase(subject: subject, requestId: nil, actor: "privacy-office")
                live.removeAll { $0 == subject }
                if observing { covered = UInt64(log.events.count) + 1 }
            } else {
                let size =
                    random.chance(15) ? random.inRange(Int(interval)...Int(interval) * 3 + 1) : random.inRange(1...9)
                let events = try Self.events(&random, count: size, subjects: subjects, now: clock.now())
                _ = try current.append(events, actor: "snapshots")
                for event in events where !live.contains(event.subject) { live.append(event.subject) }
                if observing { covered = UInt64(log.events.count + events.count) }
            }
            let ledger = try #require(ledger)
            try log.catchUp(ledger)
            let head = UInt64(log.events.count)
            let rules = try ledger.projectionRules()
            let expectedSeqs =
                interval > covered ? [] : Array(stride(from: interval, through: covered, by: Int(interval)))
            #expect(try ledger.snapshotSeqs() == expectedSeqs, "\(context): which seqs have snapshots")
            for _ in 0..<3 {
                let at = UInt64(random.below(Int(head) + 3))
                let nearest = expectedSeqs.last { $0 <= at }
                let found = try ledger.snapshot(atOrBefore: at)
                #expect(found?.seq == nearest, "\(context): the snapshot at or before \(at)")
                if let found, found.seq == nearest {
                    #expect(
                        found.bytes == log.fold(first: Int(found.seq), rules: rules).snapshot,
                        "\(context): the snapshot at \(found.seq) is the fold of its first events"
                    )
                }
                let length = random.below(Int(head) + 1)
                #expect(
                    try ledger.projection(through: UInt64(length), rules: rules)
                        == log.fold(first: length, rules: rules),
                    "\(context): the projection of the first \(length) events"
                )
                let time: Timestamp
                if let event = random.pick(log.events), random.chance(70) {
                    time = Timestamp(milliseconds: event.recordedAt.milliseconds + Int64(random.inRange(-1...1)))
                } else {
                    time = clock.now().adding(minutes: -random.below(60 * 24 * 30))
                }
                let expected = log.fold(asOf: time, rules: rules)
                #expect(
                    try ledger.projection(asOf: time) == expected,
                    "\(context): the projection as of \(time.rfc3339)"
                )
                #expect(
                    try ledger.purposeCounts(asOf: time)
                        == expected.purposeCounts(at: time, catalogue: try ledger.catalogue()),
                    "\(context): the counts as of \(time.rfc3339), from the snapshot's bytes"
                )
            }
        }
        #expect(log.events.count > 3 * Int(interval), "seed \(seed): the run crossed several intervals")
        let current = try #require(ledger)
        return try current.snapshotSeqs().count { try current.snapshotIsDelta(at: $0) == true }
    }

    @Test(arguments: ModelSeeds.all)
    func everyIntervalOfOneHotSubjectMatchesTheModel(seed: UInt64) throws {
        try run(seed: seed, interval: 1, subjects: 1, rounds: 60)
    }

    @Test(arguments: ModelSeeds.all)
    func smallIntervalsOfManySubjectsMatchTheModel(seed: UInt64) throws {
        var deltas = 0
        for interval: UInt64 in [3, 16] {
            try run(seed: seed, interval: interval, subjects: 60, rounds: 80)
            deltas += try run(seed: seed, interval: interval, subjects: 60, rounds: 80, preloaded: 400)
        }
        #expect(deltas > 0, "seed \(seed): some snapshots were stored as deltas")
    }
}
