import TestSupport
import Testing

@testable import Ledger
@testable import Projections

/// ``SnapshotComparison`` (what `rebuild` compares stored snapshots with) agrees with comparing
/// the bytes of ``LedgerProjection/snapshot``: true for each refold of a seeded series, false for
/// any byte changed, removed or added, whether in a touched subject, an untouched one, the
/// header or the requests. Pure: no LMDB.
struct SnapshotComparisonTests {
    private static let purposes = ["newsletter", "surveys", "web-analytics", "ældre-tilbud"]

    /// A series of refolds: each step touches a few subjects (new or existing) and requests.
    private static func series(seed: UInt64, steps: Int, subjects: Int) -> [(LedgerProjection, Set<Pseudonym>)] {
        var random = SplitMix64(seed: seed)
        var projection = LedgerProjection()
        var seq: UInt64 = 0
        var out: [(LedgerProjection, Set<Pseudonym>)] = []
        for _ in 0..<steps {
            var touched: Set<Pseudonym> = []
            for _ in 0..<(1 + random.below(6)) {
                seq += 1
                let id = Pseudonym(high: UInt64(random.below(subjects)), low: UInt64(random.below(3)))
                touched.insert(id)
                var subject = projection.subjects[id] ?? SubjectProjection()
                if random.chance(10) {
                    subject.erasure = (seq, Timestamp(milliseconds: Int64(seq) * 1_000))
                } else {
                    let purpose = purposes[random.below(purposes.count)]
                    subject.consents[purpose] = ConsentDecision(
                        granted: random.chance(70),
                        occurredAt: Timestamp(milliseconds: Int64(seq) * 1_000),
                        seq: seq,
                        expiresAt: random.chance(30) ? Timestamp(milliseconds: Int64(seq) * 2_000) : nil
                    )
                }
                projection.subjects[id] = subject
                if random.chance(20) {
                    let requestId = "r\(random.below(5))"
                    projection.requests[requestId] = RequestProjection(
                        requestId: requestId,
                        kind: .access,
                        pseudonym: id.hex,
                        openedAt: Timestamp(milliseconds: Int64(seq)),
                        dueAt: Timestamp(milliseconds: Int64(seq) + 30),
                        status: random.chance(50) ? .open : .completed,
                        closedAt: nil
                    )
                }
            }
            projection.throughSeq = seq
            out.append((projection, touched))
        }
        return out
    }

    /// What the fold captures: every subject for the first snapshot, the touched ones after.
    private static func capture(_ projection: LedgerProjection, touched: Set<Pseudonym>?) -> SnapshotComparison.Capture
    {
        var changed = projection.subjects
        if let touched { changed = changed.filter { touched.contains($0.key) } }
        return .init(
            seq: projection.throughSeq,
            subjectCount: projection.subjects.count,
            touched: changed,
            requests: projection.requests
        )
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func eachRefoldOfASeriesMatchesItsOwnSnapshotOnly(seed: UInt64) {
        let series = Self.series(seed: seed, steps: 40, subjects: 12)
        var comparison = SnapshotComparison()
        for (index, (projection, touched)) in series.enumerated() {
            let capture = Self.capture(projection, touched: index == 0 ? nil : touched)
            if index > 0 {
                // The snapshot before it is not this refold's.
                var copy = comparison
                let earlierMatches = copy.matches(series[index - 1].0.snapshot, capture)
                #expect(!earlierMatches)
            }
            let matches = comparison.matches(projection.snapshot, capture)
            #expect(matches, "step \(index)")
        }
    }

    @Test func everyChangedRemovedOrAddedByteIsCaught() {
        let series = Self.series(seed: 7, steps: 6, subjects: 8)
        var comparison = SnapshotComparison()
        for (index, (projection, touched)) in series.dropLast().enumerated() {
            let matches = comparison.matches(
                projection.snapshot,
                Self.capture(projection, touched: index == 0 ? nil : touched)
            )
            #expect(matches)
        }
        let (last, touched) = series[series.count - 1]
        let capture = Self.capture(last, touched: touched)
        let bytes = last.snapshot
        for position in bytes.indices {
            var changed = bytes
            changed[position] ^= 0x01
            var copy = comparison
            let changedMatches = copy.matches(changed, capture)
            #expect(!changedMatches, "byte \(position) changed")
            var removed = bytes
            removed.remove(at: position)
            copy = comparison
            let removedMatches = copy.matches(removed, capture)
            #expect(!removedMatches, "byte \(position) removed")
        }
        var copy = comparison
        let longerMatches = copy.matches(bytes + [0], capture)
        #expect(!longerMatches)
        copy = comparison
        let emptyMatches = copy.matches([], capture)
        #expect(!emptyMatches)
        // A failed comparison leaves the previous snapshot in place.
        let intactMatches = comparison.matches(bytes, capture)
        #expect(intactMatches)
    }

    @Test func anUntouchedSubjectMustBeTheSameAsInThePreviousSnapshot() {
        var first = LedgerProjection()
        let a = Pseudonym(high: 1, low: 1)
        let b = Pseudonym(high: 2, low: 2)
        var subject = SubjectProjection()
        subject.consents["newsletter"] = ConsentDecision(
            granted: true,
            occurredAt: Timestamp(milliseconds: 1),
            seq: 1,
            expiresAt: nil
        )
        first.subjects = [a: subject, b: subject]
        first.throughSeq = 2
        var comparison = SnapshotComparison()
        let firstMatches = comparison.matches(first.snapshot, Self.capture(first, touched: nil))
        #expect(firstMatches)
        // The next refold touched only `b`; a stored snapshot that also changed `a` differs.
        var second = first
        second.throughSeq = 3
        second.subjects[b]?.consents["surveys"] = subject.consents["newsletter"]
        var wrong = second
        wrong.subjects[a]?.consents["newsletter"]?.granted = false
        let capture = Self.capture(second, touched: [b])
        var copy = comparison
        let wrongMatches = copy.matches(wrong.snapshot, capture)
        #expect(!wrongMatches)
        let secondMatches = comparison.matches(second.snapshot, capture)
        #expect(secondMatches)
    }
}
