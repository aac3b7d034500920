import Foundation
import Testing

@testable import Ledger

/// `Ledger.prepare` resolves and seals outside the write transaction; the writer checks the
/// subject again. These tests change the subject between the two — erased, created by another
/// append, created twice in one group — and check that every event lands under the subject the
/// ledger holds at commit, and that its payload opens with that subject's key.
struct PreparationTests {
    static func event(_ subject: String, data: String = #"{"n":1}"#) throws -> ClientEvent {
        try Fixture.event(
            #"{"type":"consent.granted","subject":"\#(subject)","purpose":"newsletter","notice":"policy-v1","data":\#(data)}"#
        )
    }

    /// Every event of `externalId`'s current subject decrypts to its external id, and the data given.
    static func expectReadable(_ ledger: Ledger, _ externalId: String, data: [String]) throws {
        let pseudonym = try #require(try ledger.pseudonym(of: externalId))
        let history = try ledger.history(pseudonym: pseudonym)
        #expect(history.map(\.externalId) == Array(repeating: externalId, count: data.count))
        #expect(history.map(\.data) == data)
    }

    @Test func aBatchPreparedBeforeItsSubjectWasErasedLandsUnderANewSubject() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        _ = try ledger.append([try Self.event("x@example.com")], actor: "test")
        let before = try #require(try ledger.pseudonym(of: "x@example.com"))
        let prepared = try ledger.prepare([try Self.event("x@example.com", data: #"{"n":2}"#)])
        _ = try ledger.erase(subject: "x@example.com", requestId: nil, actor: "test")
        let results = try ledger.append(prepared, actor: "test")
        #expect(results.count == 1)
        #expect(results[0].subject != before)
        #expect(try ledger.isErased(pseudonym: before))
        try Self.expectReadable(ledger, "x@example.com", data: [#"{"n":2}"#])
        #expect(try ledger.verify().isValid)
    }

    /// The writer takes preparation's subject without asking the key store again while that
    /// subject is not erased in its transaction; here the erasure's event is in the log and its key
    /// is still there (the shredder has not run): the writer must see it, delete the key and make a
    /// new subject.
    @Test func aBatchPreparedBeforeAnErasureWhoseKeyIsNotYetDestroyedLandsUnderANewSubject() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        _ = try ledger.append([try Self.event("p@example.com")], actor: "test")
        let before = try #require(try ledger.pseudonym(of: "p@example.com"))
        let prepared = try ledger.prepare([try Self.event("p@example.com", data: #"{"n":2}"#)])
        _ = try ledger.recordErasure(subject: "p@example.com", requestId: nil, actor: "test")
        #expect(try ledger.keyStore.subjectCount() == 1)
        let results = try ledger.append(prepared, actor: "test")
        #expect(results[0].subject != before)
        #expect(try ledger.isErased(pseudonym: before))
        // The erased subject's key went with it; only the new subject's is left.
        #expect(try ledger.keyStore.subjectCount() == 1)
        let raw = try #require(Hex.decode(before))
        let oldKey = try ledger.keyStore.withEnvironment { keys in
            try keys.read { txn in try ledger.keyStore.subjectKey(pseudonym: raw, in: txn, environment: keys) }
        }
        #expect(oldKey == nil)
        try Self.expectReadable(ledger, "p@example.com", data: [#"{"n":2}"#])
        #expect(try ledger.verify().isValid)
    }

    /// Erased and made again by another append between preparation and commit: the prepared
    /// event joins the subject made since, neither the erased one nor a third.
    @Test func aBatchPreparedBeforeItsSubjectWasErasedAndMadeAgainJoinsTheNewSubject() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        _ = try ledger.append([try Self.event("q@example.com")], actor: "test")
        let first = try #require(try ledger.pseudonym(of: "q@example.com"))
        let prepared = try ledger.prepare([try Self.event("q@example.com", data: #"{"n":3}"#)])
        _ = try ledger.erase(subject: "q@example.com", requestId: nil, actor: "test")
        let again = try ledger.append([try Self.event("q@example.com", data: #"{"n":2}"#)], actor: "test")
        #expect(again[0].subject != first)
        let results = try ledger.append(prepared, actor: "test")
        #expect(results[0].subject == again[0].subject)
        #expect(try ledger.keyStore.subjectCount() == 1)
        try Self.expectReadable(ledger, "q@example.com", data: [#"{"n":2}"#, #"{"n":3}"#])
        #expect(try ledger.verify().isValid)
    }

    /// A key store compacted between preparation and commit keeps every subject not erased, so
    /// preparation's subject still stands: the event joins it and opens with its key.
    @Test func aBatchPreparedBeforeAKeyStoreCompactionJoinsItsSubject() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        _ = try ledger.append([try Self.event("r@example.com"), try Self.event("gone@example.com")], actor: "test")
        let subject = try #require(try ledger.pseudonym(of: "r@example.com"))
        let prepared = try ledger.prepare([try Self.event("r@example.com", data: #"{"n":2}"#)])
        _ = try ledger.erase(subject: "gone@example.com", requestId: nil, actor: "test")
        try ledger.compactKeyStore()
        let results = try ledger.append(prepared, actor: "test")
        #expect(results[0].subject == subject)
        try Self.expectReadable(ledger, "r@example.com", data: [#"{"n":1}"#, #"{"n":2}"#])
        #expect(try ledger.verify().isValid)
    }

    /// Appends prepared on one thread and erasures on another, for the same external id, racing:
    /// whatever the interleaving, no event lands under a subject after that subject's erasure,
    /// and every event not erased opens with its subject's key. (What the writer's shortcut for a
    /// subject preparation found must never break.)
    @Test func appendsRacingErasuresOfTheSameSubjectNeverLandAfterItsErasure() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let appended = Locked(0)
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            do {
                if worker == 0 {
                    for n in 0..<300 {
                        let prepared = try ledger.prepare([try Self.event("race@example.com", data: #"{"n":\#(n)}"#)])
                        if n % 3 == 0 { usleep(200) }
                        _ = try ledger.append(prepared, actor: "test")
                        appended.withLock { $0 += 1 }
                    }
                } else {
                    for _ in 0..<25 {
                        usleep(1_500)
                        _ = try? ledger.erase(subject: "race@example.com", requestId: nil, actor: "test")
                    }
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        #expect(appended.withLock { $0 } == 300)
        var erasedAt: [String: UInt64] = [:]
        var late: [UInt64] = []
        var grants = 0
        try ledger.forEachEvent { event in
            if event.type == .erasureCompleted {
                erasedAt[event.subject] = event.seq
            } else if erasedAt[event.subject] != nil {
                late.append(event.seq)
            }
            if event.type == .consentGranted { grants += 1 }
            return true
        }
        #expect(late.isEmpty, "events after their subject's erasure: \(late.prefix(5))")
        #expect(grants == 300)
        #expect(erasedAt.count >= 2, "the erasures interleaved with the appends")
        // The subject standing now has a key, and its events open with it.
        if let current = try ledger.pseudonym(of: "race@example.com") {
            #expect(try ledger.history(pseudonym: current).allSatisfy { $0.externalId == "race@example.com" })
        }
        #expect(try ledger.verify().isValid)
    }

    /// The writer takes a subject preparation found as found, so a batch another ledger prepared
    /// (its pseudonyms are that ledger's) is refused, alone or in a group, and nothing is appended.
    @Test func aBatchPreparedByAnotherLedgerIsRefused() throws {
        let one = TemporaryDirectory()
        let other = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: one)
        let stranger = try Fixture.ledger(in: other, options: Fixture.options(seed: "stranger"))
        _ = try stranger.append([try Self.event("s@example.com")], actor: "test")
        let prepared = try stranger.prepare([try Self.event("s@example.com", data: #"{"n":2}"#)])
        #expect(errorCode { _ = try ledger.append(prepared, actor: "test") } == .internal)
        let own = try ledger.prepare([try Self.event("t@example.com")])
        #expect(
            errorCode { _ = try ledger.appendGroup([(events: own, actor: "test"), (events: prepared, actor: "test")]) }
                == .internal
        )
        #expect(try ledger.head().seq == 0)
        #expect(try stranger.append(prepared, actor: "test")[0].seq == 2)
    }

    @Test func aNewSubjectPreparedWhileAnotherAppendCreatedItJoinsThatSubject() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let prepared = try ledger.prepare([try Self.event("y@example.com", data: #"{"n":2}"#)])
        let first = try ledger.append([try Self.event("y@example.com")], actor: "test")
        let results = try ledger.append(prepared, actor: "test")
        #expect(results[0].subject == first[0].subject)
        #expect(try ledger.keyStore.subjectCount() == 1)
        try Self.expectReadable(ledger, "y@example.com", data: [#"{"n":1}"#, #"{"n":2}"#])
        #expect(try ledger.verify().isValid)
    }

    @Test func oneNewSubjectPreparedInTwoBatchesOfAGroupIsCreatedOnce() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let one = try ledger.prepare([try Self.event("z@example.com")])
        let two = try ledger.prepare([try Self.event("z@example.com", data: #"{"n":2}"#)])
        let outcomes = try ledger.appendGroup([(events: one, actor: "test"), (events: two, actor: "test")])
        let subjects = try outcomes.map { try $0.get()[0].subject }
        #expect(subjects[0] == subjects[1])
        #expect(try ledger.keyStore.subjectCount() == 1)
        #expect(try ledger.keyStore.subjectsCreated() == 1)
        try Self.expectReadable(ledger, "z@example.com", data: [#"{"n":1}"#, #"{"n":2}"#])
        #expect(try ledger.verify().isValid)
    }

    @Test func aGroupWhoseFirstBatchIsRefusedStillCreatesTheSubjectOnceForTheSecond() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        // The first batch makes the subject and is rolled back by its second line.
        let refused = try ledger.prepare([
            try Self.event("w@example.com"),
            try Fixture.event(
                #"{"type":"access.completed","subject":"w@example.com","requestId":"a0000000-0000-4000-8000-000000000009"}"#
            ),
        ])
        let accepted = try ledger.prepare([try Self.event("w@example.com", data: #"{"n":2}"#)])
        let outcomes = try ledger.appendGroup([(events: refused, actor: "test"), (events: accepted, actor: "test")])
        #expect(throws: LedgerError.self) { try outcomes[0].get() }
        #expect(try outcomes[1].get().count == 1)
        #expect(try ledger.keyStore.subjectCount() == 1)
        #expect(try ledger.keyStore.subjectsCreated() == 1)
        try Self.expectReadable(ledger, "w@example.com", data: [#"{"n":2}"#])
        #expect(try ledger.verify().isValid)
    }

    @Test func aPreparedBatchForAKnownSubjectUsesItsKeyAndItsPayloadOpens() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let first = try ledger.append([try Self.event("v@example.com")], actor: "test")
        let prepared = try ledger.prepare((2...40).map { try Self.event("v@example.com", data: #"{"n":\#($0)}"#) })
        let results = try ledger.append(prepared, actor: "test")
        #expect(Set(results.map(\.subject)) == [first[0].subject])
        try Self.expectReadable(ledger, "v@example.com", data: (1...40).map { #"{"n":\#($0)}"# })
    }
}
