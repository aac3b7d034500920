import TestSupport
import Testing

@testable import Ledger
@testable import Projections

/// ``SnapshotSplicer`` (how both snapshot writers fold on from the previous snapshot's bytes)
/// writes exactly ``LedgerProjection/snapshot`` of the whole fold, at every boundary of random
/// logs: new subjects before, between and after the stored ones, subjects touched again and
/// again, erasures, every event type, requests opened, closed and extended, boundaries with no
/// subject touched. And it refuses bytes that are not a snapshot. Pure: no LMDB.
struct SnapshotSplicerTests {
    private static let purposes = ["newsletter", "surveys", "web-analytics", "ældre-tilbud"]
    private static let closings: [EventType] = [
        .accessCompleted, .accessRejected, .correctionCompleted, .correctionRejected, .erasureRejected,
    ]
    private static let rules = ProjectionRules(catalogue: (try? Catalogue.bundled()) ?? Catalogue.emptyForTests)

    /// A random log of `count` events over `subjects` subjects, with every event type.
    private static func log(seed: UInt64, count: Int, subjects: Int) -> [EventSummary] {
        var random = SplitMix64(seed: seed)
        var openRequests: [String] = []
        return (1...count).map { index in
            let seq = UInt64(index)
            // Pseudonyms spread over the whole range, so new ones land anywhere among the old.
            let n = UInt64(random.below(subjects))
            let subject = Pseudonym(high: n &* 0x9E37_79B9_7F4A_7C15, low: n)
            let time = Timestamp(milliseconds: 1_700_000_000_000 + Int64(index) * 60_000)
            var type = EventType.consentGranted
            var requestId = ""
            var expires: Timestamp?
            switch random.below(100) {
            case 0..<50: expires = random.chance(30) ? time.adding(days: 10) : nil
            case 50..<75: type = .consentWithdrawn
            case 75..<80: type = .erasureCompleted
            case 80..<88: type = [.accessRequested, .correctionRequested, .erasureRequested][random.below(3)]
            case 88..<96:
                type = closings[random.below(closings.count)]
                requestId = openRequests.isEmpty ? "" : openRequests[random.below(openRequests.count)]
            default:
                type = .requestExtended
                requestId = openRequests.isEmpty ? "" : openRequests[random.below(openRequests.count)]
                expires = time.adding(days: 60)
            }
            let eventId = type.opensRequest == nil ? "" : "req-\(seq)"
            if !eventId.isEmpty { openRequests.append(eventId) }
            let hasPurpose = type == .consentGranted || type == .consentWithdrawn
            return EventSummary(
                seq: seq,
                type: type,
                subject: subject,
                purpose: hasPurpose ? purposes[random.below(purposes.count)] : "",
                eventId: eventId,
                requestId: requestId,
                occurredAt: time,
                recordedAt: time,
                expiresAt: expires
            )
        }
    }

    /// ``SnapshotFolding/storeMissing`` from the empty ledger over `events`, nothing stored yet.
    private static func storeMissing(
        of events: [EventSummary],
        head: UInt64,
        interval: UInt64,
        forEachSummary: ((_ from: UInt64, _ through: UInt64, (EventSummary) throws -> Void) throws -> Void)? = nil,
        store: (SnapshotFolding.Folded) throws -> Ledger.SnapshotStoring
    ) throws -> (stored: Int, continuation: (fold: SnapshotSplicer, stored: SnapshotDelta)?) {
        var none: (fold: SnapshotSplicer, stored: SnapshotDelta)?
        return try SnapshotFolding.storeMissing(
            latestSeq: nil,
            read: { _ in nil },
            cached: &none,
            head: head,
            interval: interval,
            rules: { rules },
            forEachSummary: forEachSummary ?? { from, through, body in
                for event in events[Int(from - 1)..<Int(through)] { try body(event) }
            },
            store: store
        )
    }

    /// Each snapshot is written into the storage of the one before the last (a million
    /// subjects' snapshot is tens of megabytes, and fresh pages cost more than the copy): one a
    /// caller still holds must never be written over, and every later one must still be the fold.
    @Test func aSnapshotStillHeldIsNeverWrittenOverByTheOnesAfterIt() throws {
        let events = Self.log(seed: 9, count: 400, subjects: 40)
        var whole = LedgerProjection()
        var spliced = SnapshotSplicer()
        var held: [(seq: UInt64, bytes: [UInt8], copy: [UInt8])] = []
        for event in events {
            whole.apply(event, rules: Self.rules)
            try spliced.apply(event, rules: Self.rules)
            guard event.seq % 25 == 0 else { continue }
            let bytes = spliced.snapshot()
            #expect(bytes == whole.snapshot, "seq \(event.seq)")
            if event.seq % 100 == 0 { held.append((event.seq, bytes, Array(bytes))) }
        }
        #expect(held.count == 4)
        for snapshot in held { #expect(snapshot.bytes == snapshot.copy, "seq \(snapshot.seq)") }
    }

    /// A catch-up over many boundaries (a ledger whose snapshots were removed, or one that
    /// crossed several while the writer was busy) stores each snapshot as soon as the fold reaches
    /// its boundary, so it holds one at a time and writes each into the storage of the one before
    /// the last, instead of holding every one until the end (16 here; at a million subjects each
    /// is tens of megabytes). Each is the whole fold's, and a seq another writer stored first
    /// stops it there with nothing to continue from.
    @Test func aCatchUpOverManyBoundariesStoresEachSnapshotAsItIsFolded() throws {
        let events = Self.log(seed: 5, count: 400, subjects: 40)
        var whole = LedgerProjection()
        var expected: [UInt64: [UInt8]] = [:]
        for event in events {
            whole.apply(event, rules: Self.rules)
            if event.seq % 25 == 0 { expected[event.seq] = whole.snapshot }
        }
        var folded: UInt64 = 0
        var stored: [(seq: UInt64, foldedThrough: UInt64, storage: UInt)] = []
        let outcome = try Self.storeMissing(
            of: events,
            head: 410,
            interval: 25,
            forEachSummary: { from, through, body in
                for event in events[Int(from - 1)..<Int(through)] {
                    folded = event.seq
                    try body(event)
                }
            },
            store: { snapshot in
                #expect(snapshot.bytes == expected[snapshot.seq], "seq \(snapshot.seq)")
                let storage = snapshot.bytes.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
                stored.append((snapshot.seq, folded, storage))
                return snapshot.delta == nil ? .whole : .asDelta
            }
        )
        #expect(outcome.stored == 16)
        #expect(outcome.continuation?.fold.throughSeq == 400)
        #expect(stored.map(\.seq) == (1...16).map { UInt64($0 * 25) })
        #expect(stored.allSatisfy { $0.foldedThrough == $0.seq }, "each stored before the fold went on")
        // Once the snapshots grow by less than the spare's slack, two buffers take turns.
        #expect(Set(stored.suffix(5).map(\.storage)).count == 2, "written into the storage of earlier ones")

        var stopped: [UInt64] = []
        let refused = try Self.storeMissing(
            of: events,
            head: 400,
            interval: 25,
            store: { snapshot in
                stopped.append(snapshot.seq)
                return snapshot.seq < 75 ? .whole : .byAnotherWriter
            }
        )
        #expect(refused.stored == 2)
        #expect(refused.continuation == nil)
        #expect(stopped == [25, 50, 75])
    }

    /// A delta the store kept whole instead (its base was no longer stored whole) is what the
    /// ones after it continue from: the next delta's base is it, not the base the fold had.
    @Test func aDeltaStoredWholeInsteadIsTheNextOnesBase() throws {
        // 200 subjects, then events on five of them: deltas of a few records each.
        let events = (1...600).map { index in
            let n = UInt64(index <= 200 ? index : index % 5)
            let time = Timestamp(milliseconds: 1_700_000_000_000 + Int64(index) * 60_000)
            return EventSummary(
                seq: UInt64(index),
                type: index % 3 == 0 ? .consentWithdrawn : .consentGranted,
                subject: Pseudonym(high: n &* 0x9E37_79B9_7F4A_7C15, low: n),
                purpose: "newsletter",
                eventId: "",
                requestId: "",
                occurredAt: time,
                recordedAt: time,
                expiresAt: nil
            )
        }
        /// Folds the whole log at interval 10; `storedWhole` is told to have been stored whole.
        func bases(storedWhole: UInt64?) throws -> [UInt64: UInt64] {
            var bases: [UInt64: UInt64] = [:]
            _ = try Self.storeMissing(
                of: events,
                head: 600,
                interval: 10,
                store: { snapshot in
                    if let delta = snapshot.delta { bases[snapshot.seq] = delta.baseSeq }
                    return snapshot.delta == nil || snapshot.seq == storedWhole ? .whole : .asDelta
                }
            )
            return bases
        }
        let asMade = try bases(storedWhole: nil)
        let chosen = try #require(asMade.keys.sorted().first { asMade[$0 + 10] != nil }, "two deltas in a row")
        #expect(asMade[chosen + 10] != chosen)
        #expect(try bases(storedWhole: chosen)[chosen + 10] == chosen)
    }

    @Test(arguments: [(1, 7), (2, 1), (3, 50), (4, 13)] as [(UInt64, Int)])
    func everySplicedSnapshotIsTheWholeFoldsSnapshot(seed: UInt64, interval: Int) throws {
        let events = Self.log(seed: seed, count: 600, subjects: 90)
        var whole = LedgerProjection()
        var spliced = SnapshotSplicer()
        var boundaries = 0
        for event in events {
            whole.apply(event, rules: Self.rules)
            try spliced.apply(event, rules: Self.rules)
            if event.seq % UInt64(interval) == 0 {
                boundaries += 1
                let bytes = spliced.snapshot()
                #expect(bytes == whole.snapshot, "seq \(event.seq)")
                #expect(spliced.throughSeq == event.seq)
            }
        }
        #expect(boundaries == 600 / interval)
        #expect(whole.subjects.count > 60, "the log reaches most subjects")
        #expect(!whole.requests.isEmpty)
    }

    @Test func aFoldContinuedFromStoredBytesEqualsOneThatNeverStopped() throws {
        let events = Self.log(seed: 9, count: 400, subjects: 70)
        var whole = LedgerProjection()
        for event in events.prefix(250) { whole.apply(event, rules: Self.rules) }
        // As a new process would: from the stored bytes alone.
        var continued = try #require(SnapshotSplicer(snapshot: whole.snapshot))
        #expect(continued.throughSeq == 250)
        for event in events.dropFirst(250) {
            whole.apply(event, rules: Self.rules)
            try continued.apply(event, rules: Self.rules)
        }
        #expect(continued.snapshot() == whole.snapshot)
        // A boundary with nothing folded since repeats the previous snapshot.
        #expect(continued.snapshot() == whole.snapshot)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func countsFromTheBytesAreTheWholeFoldsCounts(seed: UInt64) throws {
        let catalogue = try Catalogue.bundled()
        let events = Self.log(seed: seed, count: 500, subjects: 80)
        var whole = LedgerProjection()
        var spliced = SnapshotSplicer()
        var seen: Set<ConsentStatus> = []
        for (index, event) in events.enumerated() {
            whole.apply(event, rules: Self.rules)
            try spliced.apply(event, rules: Self.rules)
            // Some subjects then stand in the bytes only, others in the fold too.
            if index % 37 == 0 { _ = spliced.snapshot() }
            guard index % 23 == 0 else { continue }
            // Before and after the explicit expiries (10 days) and web-analytics' TTL (90 days).
            for days in [0, 10, 89, 91, 400] {
                let time = event.occurredAt.adding(days: days)
                let counts = try spliced.purposeCounts(at: time, catalogue: catalogue)
                #expect(
                    counts == whole.purposeCounts(at: time, catalogue: catalogue),
                    "seq \(event.seq), +\(days) days"
                )
                for count in counts {
                    if count.granted > 0 { seen.insert(.granted) }
                    if count.withdrawn > 0 { seen.insert(.withdrawn) }
                    if count.expired > 0 { seen.insert(.expired) }
                    if count.erased > 0 { seen.insert(.erased) }
                }
            }
        }
        #expect(seen == Set(ConsentStatus.allCases), "every status was counted somewhere")
    }

    @Test func bytesThatAreNotASnapshotAreRefused() throws {
        var projection = LedgerProjection()
        for event in Self.log(seed: 5, count: 120, subjects: 30) { projection.apply(event, rules: Self.rules) }
        let bytes = projection.snapshot
        #expect(SnapshotSplicer(snapshot: bytes) != nil)
        #expect(SnapshotSplicer(snapshot: []) == nil)
        #expect(SnapshotSplicer(snapshot: Array(bytes.dropLast())) == nil, "truncated")
        #expect(SnapshotSplicer(snapshot: bytes + [0]) == nil, "trailing byte")
        var wrongMagic = bytes
        wrongMagic[0] ^= 0xFF
        #expect(SnapshotSplicer(snapshot: wrongMagic) == nil)
        // Two records swapped: no longer in pseudonym order, so no lookup could be trusted.
        var two = LedgerProjection()
        two.subjects[Pseudonym(high: 1, low: 0)] = SubjectProjection()
        two.subjects[Pseudonym(high: 2, low: 0)] = SubjectProjection()
        var swapped = two.snapshot
        let header = LedgerProjection.magic.count + 12
        let record = 16 + 1 + 4
        let first = Array(swapped[header..<(header + record)])
        swapped.replaceSubrange(header..<(header + record), with: swapped[(header + record)..<(header + 2 * record)])
        swapped.replaceSubrange((header + record)..<(header + 2 * record), with: first)
        #expect(LedgerProjection(snapshot: swapped) != nil, "it decodes, but out of order")
        #expect(SnapshotSplicer(snapshot: swapped) == nil)
        // An erasure flag that is neither 0 nor 1.
        var flagged = two.snapshot
        flagged[header + 16] = 2
        #expect(SnapshotSplicer(snapshot: flagged) == nil)
        #expect(LedgerProjection(snapshot: flagged) == nil)
    }

    @Test func aRecordThatDoesNotDecodeIsReportedWhenTheFoldReachesIt() throws {
        var projection = LedgerProjection()
        let id = Pseudonym(high: 7, low: 7)
        var subject = SubjectProjection()
        subject.consents["newsletter"] = ConsentDecision(
            granted: true,
            occurredAt: Timestamp(milliseconds: 1_000),
            seq: 1,
            expiresAt: nil
        )
        projection.subjects[id] = subject
        projection.throughSeq = 1
        var bytes = projection.snapshot
        // The purpose's first byte made invalid UTF-8: the record's layout still reads.
        let purposeStart = LedgerProjection.magic.count + 12 + 16 + 1 + 4 + 4
        #expect(bytes[purposeStart] == UInt8(ascii: "n"))
        bytes[purposeStart] = 0xFF
        var spliced = try #require(SnapshotSplicer(snapshot: bytes))
        let event = EventSummary(
            seq: 2,
            type: .consentWithdrawn,
            subject: id,
            purpose: "newsletter",
            eventId: "",
            requestId: "",
            occurredAt: Timestamp(milliseconds: 2_000),
            recordedAt: Timestamp(milliseconds: 2_000),
            expiresAt: nil
        )
        #expect(throws: LedgerError.self) { try spliced.apply(event, rules: Self.rules) }
        #expect(LedgerProjection(snapshot: bytes) == nil, "the whole decoder refuses it too")
    }
}
