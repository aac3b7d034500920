import Foundation
import TestSupport
import Testing

@testable import Ledger

/// `verify`'s last check, ``Ledger/firstSubjectWithoutKey()``: a subject with events, neither erased
/// nor holding a key, is a key the key store lost. It walks the subject index, the erasures and
/// the key store in pseudonym order side by side; these tests hold it to a plain model (sets and
/// dictionaries) over subjects whose events lie in both levels of the index, some erased, some
/// with their key deleted behind the ledger's back.
struct KeyCoverageTests {
    @Test(arguments: [UInt64(1), 2, 3])
    func theFirstSubjectWithoutAKeyIsTheModels(seed: UInt64) throws {
        let directory = TemporaryDirectory()
        var options = Fixture.options()
        // A small recent level, so the index holds subjects in both levels, some in both at once.
        options.subjectIndexMergeThreshold = 40
        let ledger = try Fixture.ledger(in: directory, options: options)
        var random = SplitMix64(seed: seed)
        let regulars = (0..<60).map { "subject-\($0)@example.no" }
        var firstSeq: [String: UInt64] = [:]
        for _ in 0..<300 {
            let subject = random.pick(regulars) ?? regulars[0]
            let result = try ledger.append([try Fixture.grant(subject)], actor: "t")
            if firstSeq[subject] == nil { firstSeq[subject] = result[0].seq }
        }
        // Newcomers whose only events are still in the recent level.
        for newcomer in ["late-1@example.no", "late-2@example.no"] {
            firstSeq[newcomer] = try ledger.append([try Fixture.grant(newcomer)], actor: "t")[0].seq
        }
        let subjects = regulars + ["late-1@example.no", "late-2@example.no"]
        let erased = Set(subjects.filter { firstSeq[$0] != nil && random.chance(20) })
        for subject in erased { _ = try ledger.erase(subject: subject, requestId: nil, actor: "t") }
        #expect(try ledger.firstSubjectWithoutKey() == nil, "every subject has its key or its erasure")

        // Keys lost one at a time, in an order of their own: the check names the subject whose
        // first event comes first, and counts them all.
        let kept = subjects.filter { firstSeq[$0] != nil && !erased.contains($0) && $0 != "late-2@example.no" }
        var lost: [String] = []
        var pseudonyms: [String: String] = [:]
        for subject in ["late-2@example.no"] + kept.shuffled(using: &random).prefix(6) where !lost.contains(subject) {
            let pseudonym = try #require(try ledger.pseudonym(of: subject))
            let bytes = try #require(Hex.decode(pseudonym))
            try ledger.keyStore.withEnvironment { env in
                try env.write { txn in
                    _ = try ledger.keyStore.deleteSubject(pseudonym: bytes, in: txn, environment: env)
                }
            }
            ledger.subjectKeyCache.evict(bytes)
            lost.append(subject)
            pseudonyms[subject] = pseudonym
            let first = try #require(lost.min { (firstSeq[$0] ?? 0) < (firstSeq[$1] ?? 0) })
            let failure = try #require(try ledger.firstSubjectWithoutKey())
            #expect(failure.code == .subjectKeyMissing)
            #expect(failure.seq == firstSeq[first], "lost \(lost.count)")
            #expect(failure.reason.contains("subject \(pseudonyms[first] ?? "?") has events"), "\(failure.reason)")
            #expect(failure.reason.contains(lost.count == 1 ? "its key" : "the keys of \(lost.count) subjects"))
        }
    }
}
