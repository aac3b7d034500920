import Foundation
import Testing

@testable import Ledger

struct ErasureTests {
    static let external = "maria.nordmann@example.no"
    static let marker = "MARKER-7f3a-personal-note"

    private func populate(_ ledger: Ledger) throws -> String {
        let results = try ledger.append(
            [
                try Fixture.grant(Self.external, extra: #","data":{"note":"\#(Self.marker)"}"#),
                try Fixture.event(
                    #"{"type":"correction.requested","subject":"\#(Self.external)","data":{"newName":"\#(Self.marker)-B"}}"#
                ),
                try Fixture.grant("someone.else@example.no", extra: #","data":{"note":"keep me"}"#),
            ],
            actor: "t"
        )
        return results[0].subject
    }

    @Test func erasureLeavesNothingRecoverableAndTheChainVerifies() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let pseudonym = try populate(ledger)
        // Subject keys hold the external id only encrypted, but check the scan itself can find things.
        #expect(!Fixture.filesContaining(pseudonym, under: directory.ledger).isEmpty)
        let keyRecord = try storedKeyRecord(ledger, pseudonym)
        #expect(keyRecord.count == 92)
        #expect(!Fixture.filesContaining(bytes: keyRecord, under: directory.ledger).isEmpty)
        let result = try ledger.erase(subject: Self.external, requestId: nil, actor: "privacy-office")
        #expect(result.pseudonym == pseudonym)
        #expect(result.keyStoreCompacted)
        // Neither the wrapped key nor the lookup hash survives in any page of any file.
        #expect(Fixture.filesContaining(bytes: Array(keyRecord[0..<60]), under: directory.ledger).isEmpty)
        #expect(Fixture.filesContaining(bytes: Array(keyRecord[60..<92]), under: directory.ledger).isEmpty)
        for needle in [Self.external, Self.marker, "maria"] {
            #expect(Fixture.filesContaining(needle, under: directory.ledger).isEmpty, "\(needle) survives erasure")
        }
        #expect(try ledger.verify().isValid)
        #expect(try ledger.pseudonym(of: Self.external) == nil)
        let history = try ledger.history(pseudonym: pseudonym)
        #expect(history.count == 3)
        #expect(history.allSatisfy { $0.erased && $0.data == nil && $0.externalId == nil })
        #expect(history.last?.event.type == .erasureCompleted)
        #expect(try ledger.isErased(pseudonym: pseudonym))
        // The other subject is untouched.
        let other = try #require(try ledger.pseudonym(of: "someone.else@example.no"))
        #expect(try ledger.history(pseudonym: other).first?.data == #"{"note":"keep me"}"#)
    }

    /// The key store's raw record of a subject: wrapped key (60 bytes) ‖ lookup hash (32 bytes).
    private func storedKeyRecord(_ ledger: Ledger, _ pseudonym: String) throws -> [UInt8] {
        let raw = try #require(Hex.decode(pseudonym))
        return try #require(
            try ledger.keyStore.withEnvironment { env in try env.read { try $0.get(raw, in: env.table("subjects")) } }
        )
    }

    /// Shows why compaction is needed: LMDB keeps a deleted record in a freed page.
    @Test func withoutCompactionTheDeletedKeySurvivesInAFreedPage() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let pseudonym = try populate(ledger)
        let keyRecord = try storedKeyRecord(ledger, pseudonym)
        try ledger.keyStore.withEnvironment { env in
            try env.write { txn in
                try ledger.keyStore.deleteSubject(pseudonym: #require(Hex.decode(pseudonym)), in: txn, environment: env)
            }
        }
        #expect(try ledger.pseudonym(of: Self.external) == nil)
        #expect(!Fixture.filesContaining(bytes: Array(keyRecord[0..<60]), under: directory.ledger).isEmpty)
        try ledger.compactKeyStore()
        #expect(Fixture.filesContaining(bytes: Array(keyRecord[0..<60]), under: directory.ledger).isEmpty)
        #expect(try ledger.pseudonym(of: "someone.else@example.no") != nil)
    }

    @Test func theSameExternalIdLaterIsANewSubject() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let old = try populate(ledger)
        _ = try ledger.erase(subject: Self.external, requestId: nil, actor: "t")
        let again = try ledger.append([try Fixture.grant(Self.external)], actor: "t")
        #expect(again[0].subject != old)
        #expect(try ledger.history(pseudonym: again[0].subject).count == 1)
        #expect(
            errorCode { _ = try ledger.erase(subject: "never-seen", requestId: nil, actor: "t") } == .subjectNotFound
        )
    }

    @Test func erasureClosesTheNamedRequest() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let id = "d0000000-0000-4000-8000-000000000001"
        _ = try ledger.append(
            [try Fixture.event(#"{"type":"erasure.requested","subject":"ola","eventId":"\#(id)"}"#)],
            actor: "t"
        )
        let result = try ledger.erase(subject: "ola", requestId: id, actor: "privacy-office")
        let event = try #require(try ledger.event(seq: result.seq))
        #expect(event.type == .erasureCompleted)
        #expect(event.requestId == id)
        #expect(event.actor == "privacy-office")
        #expect(event.payload.isEmpty)
    }

    @Test func aRetryAfterErasureAnswersTheOriginal() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let line =
            #"{"type":"consent.granted","subject":"per","purpose":"newsletter","notice":"policy-v1","eventId":"e0000000-0000-4000-8000-000000000001"}"#
        let first = try ledger.append([try Fixture.event(line)], actor: "t")
        _ = try ledger.erase(subject: "per", requestId: nil, actor: "t")
        let retry = try ledger.append([try Fixture.event(line)], actor: "t")
        #expect(retry[0].replayed)
        #expect(retry[0].seq == first[0].seq)
        #expect(try ledger.head().seq == 2)
    }

    @Test func aCrashBetweenTheEventAndTheKeyDeletionIsRepairedAtOpen() throws {
        let directory = TemporaryDirectory()
        let options = Fixture.options()
        var ledger: Ledger? = try Fixture.ledger(in: directory, options: options)
        let pseudonym = try populate(try #require(ledger))
        let result = try #require(ledger).erase(
            subject: Self.external,
            requestId: nil,
            actor: "t",
            interruptBeforeKeyDeletion: true
        )
        #expect(result.seq == 4)
        // The "crash": the event is committed, the key is still there.
        #expect(try #require(ledger).history(pseudonym: pseudonym).first?.erased == false)
        ledger = nil
        let reopened = try Ledger(openingAt: directory.ledger, options: options)
        #expect(try reopened.history(pseudonym: pseudonym).allSatisfy(\.erased))
        #expect(try reopened.pseudonym(of: Self.external) == nil)
        for needle in [Self.external, Self.marker] {
            #expect(Fixture.filesContaining(needle, under: directory.ledger).isEmpty, "\(needle) survives the repair")
        }
        #expect(try reopened.verify().isValid)
        #expect(try reopened.head().seq == 4)
    }
}
