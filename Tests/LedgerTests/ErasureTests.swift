import Foundation
import TestSupport
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
        #expect(!Fixture.filesContaining(bytes: Array(keyRecord[0..<60]), under: directory.ledger).isEmpty)
        #expect(!Fixture.filesContaining(bytes: Array(keyRecord[60..<92]), under: directory.ledger).isEmpty)
        let result = try ledger.erase(subject: Self.external, requestId: nil, actor: "privacy-office")
        #expect(result.pseudonym == pseudonym)
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

    /// At a size where the key store's LMDB tables have branch pages and its index several levels,
    /// no erased subject's lookup hash or wrapped key is in any file of the ledger. (In the first
    /// layout LMDB kept a deleted key as a branch page's separator, and about one lookup hash in
    /// fifty survived its erasure; slots are overwritten in place instead.)
    @Test func atSizeNoErasedSubjectLeavesItsLookupHashAsASeparator() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let erased = try fiveThousandSubjectsWithEverySeventeenthErased(ledger) {
            _ = try ledger.erase(subject: $0, requestId: nil, actor: "t")
        }
        let survivors = survivingRecords(erased, under: directory.ledger)
        #expect(survivors == 0, "\(survivors) of \(erased.count) erased subjects left bytes behind")
        // The scan finds a live subject's record: it would find an erased one's.
        let live = try storedKeyRecord(ledger, try #require(try ledger.pseudonym(of: "subject-1@example.no")))
        #expect(survivingRecords([live], under: directory.ledger) == 1)
        // Every subject not erased is still found by its external id, and its key still opens.
        for n in 0..<5_000 where n % 17 != 0 {
            let pseudonym = try #require(try ledger.pseudonym(of: "subject-\(n)@example.no"), "subject-\(n) lost")
            #expect(try ledger.history(pseudonym: pseudonym).first?.erased == false)
        }
        #expect(try ledger.verify().isValid)
    }

    /// A backup taken after erasures holds none of their wrapped keys or lookup hashes in any of
    /// its files, and opens with every other subject.
    @Test func aBackupAfterErasuresHoldsNoErasedSubjectsBytes() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let erased = try fiveThousandSubjectsWithEverySeventeenthErased(ledger) {
            _ = try ledger.erase(subject: $0, requestId: nil, actor: "t")
        }
        let target = directory.path + "/backup"
        try ledger.backup(to: target, includingMasterKey: true)
        let survivors = survivingRecords(erased, under: target)
        #expect(survivors == 0, "\(survivors) of \(erased.count) erased subjects left bytes behind")
        #expect(!FileManager.default.fileExists(atPath: target + "/keys/lock.mdb"))
        let restored = try Ledger(openingAt: target, options: Fixture.options())
        let kept = try ledger.pseudonym(of: "subject-1@example.no")
        #expect(try restored.pseudonym(of: "subject-1@example.no") == kept)
        #expect(try restored.pseudonym(of: "subject-17@example.no") == nil)
        #expect(try restored.verify().isValid)
        // The restored copy goes on: a new subject takes a slot of its own, an erasure works.
        let added = try restored.append([try Fixture.grant("after-restore@example.no")], actor: "t")
        #expect(try restored.pseudonym(of: "after-restore@example.no") == added[0].subject)
        #expect(
            try restored.pseudonym(of: "subject-2@example.no") == (try ledger.pseudonym(of: "subject-2@example.no"))
        )
        _ = try restored.erase(subject: "subject-2@example.no", requestId: nil, actor: "t")
        #expect(try restored.pseudonym(of: "subject-2@example.no") == nil)
        #expect(try ledger.pseudonym(of: "subject-2@example.no") != nil, "the backup shares nothing with the ledger")
    }

    /// After a compaction the replaced key-store file's blocks are freed a slice at a time before
    /// it is closed (closing a 1M-subject file freed them at once and stalled every append's
    /// flush); a file that still has a name — a store whose replacement failed — is never touched.
    @Test func onlyAReplacedKeyStoreFileIsFreedBeforeItIsClosed() throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/old-data.mdb"
        let bytes = [UInt8](repeating: 0xA5, count: 10 << 20)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        let fd = open(path, O_RDWR | O_CLOEXEC)
        #expect(fd >= 0)
        defer { close(fd) }
        var info = stat()
        KeyStore.freeBlocksIfUnlinked(fd)
        #expect(fstat(fd, &info) == 0)
        #expect(info.st_size == 10 << 20, "a file with a name was truncated")
        #expect(unlink(path) == 0)
        KeyStore.freeBlocksIfUnlinked(fd)
        #expect(fstat(fd, &info) == 0)
        #expect(info.st_size == 0)
        #expect(info.st_blocks == 0)
    }

    /// Appends grants for `subject-0` … `subject-4999`, enough for branch pages in the key
    /// store's tables, then erases every seventeenth subject with `erase`.
    /// - Returns: The erased subjects' stored key records, read before their erasure.
    private func fiveThousandSubjectsWithEverySeventeenthErased(
        _ ledger: Ledger,
        erase: (String) throws -> Void
    ) throws -> [[UInt8]] {
        for start in stride(from: 0, to: 5_000, by: 1_000) {
            _ = try ledger.append(
                try (start..<start + 1_000).map { try Fixture.grant("subject-\($0)@example.no") },
                actor: "t"
            )
        }
        var erased: [[UInt8]] = []
        for n in stride(from: 0, to: 5_000, by: 17) {
            let external = "subject-\(n)@example.no"
            erased.append(try storedKeyRecord(ledger, try #require(try ledger.pseudonym(of: external))))
            try erase(external)
        }
        return erased
    }

    /// Whether any file under `directory` holds a record's wrapped key or its lookup hash.
    private func files(under directory: String, holdAnyOf record: [UInt8]) -> Bool {
        !Fixture.filesContaining(bytes: Array(record[0..<60]), under: directory).isEmpty
            || !Fixture.filesContaining(bytes: Array(record[60..<92]), under: directory).isEmpty
    }

    /// How many of `records` have their wrapped key or lookup hash in some file under `directory`.
    private func survivingRecords(_ records: [[UInt8]], under directory: String) -> Int {
        let found = Fixture.needlesFound(records.flatMap { [Array($0[0..<60]), Array($0[60..<92])] }, under: directory)
        return Set(found.map { $0 / 2 }).count
    }

    /// The key store's record of a subject: wrapped key (60 bytes) ‖ lookup hash (32 bytes).
    private func storedKeyRecord(_ ledger: Ledger, _ pseudonym: String) throws -> [UInt8] {
        try #require(try ledger.storedKeyRecord(pseudonym: pseudonym))
    }

    /// A deleted subject leaves nothing behind with no compaction of any file: its slot and index
    /// bucket are overwritten in place, and no LMDB page ever held its key or lookup hash.
    @Test func aDeletedSubjectLeavesNothingWithoutACompaction() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let pseudonym = try populate(ledger)
        let keyRecord = try storedKeyRecord(ledger, pseudonym)
        #expect(files(under: directory.ledger + "/keys", holdAnyOf: keyRecord))
        try ledger.keyStore.withEnvironment { env in
            try env.write { txn in
                try ledger.keyStore.deleteSubject(pseudonym: #require(Hex.decode(pseudonym)), in: txn, environment: env)
            }
        }
        #expect(try ledger.pseudonym(of: Self.external) == nil)
        #expect(!files(under: directory.ledger, holdAnyOf: keyRecord))
        #expect(!FileManager.default.fileExists(atPath: directory.ledger + "/keys/compact.pending"))
        #expect(try ledger.pseudonym(of: "someone.else@example.no") != nil)
    }

    /// Erasures from six threads at once, beside a thread appending new subjects all the while:
    /// each erasure, once it returns, has left its subject's key and lookup hash in no file;
    /// every subject appended meanwhile keeps its key, and the chain verifies.
    @Test func concurrentErasuresBesideAppendersEachLeaveNothingOnceAnswered() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        _ = try populate(ledger)
        let victims = (0..<12).map { "victim-\($0)@example.no" }
        var records: [String: [UInt8]] = [:]
        for victim in victims {
            let result = try ledger.append([try Fixture.grant(victim, extra: #","data":{"note":"gone"}"#)], actor: "t")
            records[victim] = try storedKeyRecord(ledger, result[0].subject)
        }
        let kept = Locked<[String]>([])
        let running = Locked(true)
        let appender = Thread {
            var n = 0
            while running.withLock({ $0 }) {
                let id = "kept-\(n)@example.no"
                if (try? ledger.append([try Fixture.grant(id, extra: #","data":{"note":"kept \#(n)"}"#)], actor: "t"))
                    != nil
                {
                    kept.withLock { $0.append(id) }
                }
                n += 1
            }
        }
        appender.start()
        let survivors = Locked<[String]>([])
        let keyRecords = records
        let path = directory.ledger
        let erasers = DispatchGroup()
        for pair in stride(from: 0, to: victims.count, by: 2) {
            DispatchQueue.global().async(group: erasers) {
                for victim in victims[pair..<pair + 2] {
                    guard (try? ledger.erase(subject: victim, requestId: nil, actor: "t")) != nil,
                        let record = keyRecords[victim]
                    else {
                        survivors.withLock { $0.append("\(victim): the erasure failed") }
                        continue
                    }
                    for part in [Array(record[0..<60]), Array(record[60..<92])]
                    where !Fixture.filesContaining(bytes: part, under: path).isEmpty {
                        survivors.withLock { $0.append("\(victim): a key byte survives its erasure") }
                    }
                }
            }
        }
        erasers.wait()
        running.withLock { $0 = false }
        while appender.isExecuting { usleep(1_000) }
        #expect(survivors.withLock { $0 } == [])
        let appended = kept.withLock { $0 }
        #expect(!appended.isEmpty)
        for (n, id) in appended.enumerated() {
            let pseudonym = try #require(try ledger.pseudonym(of: id), "\(id) lost its key")
            #expect(try ledger.history(pseudonym: pseudonym).first?.data == #"{"note":"kept \#(n)"}"#)
        }
        for victim in victims { #expect(try ledger.pseudonym(of: victim) == nil) }
        #expect(try ledger.verify().isValid)
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

    /// A retry of an erasure that is not finished yet (its overwrite failed, or runs in another
    /// process) answers the same event when it names no request or the one that event closed; one
    /// naming another request, open or not, is refused with `request_not_open` and appends
    /// nothing: the erasure did not close that request, and answering it would say it did.
    @Test(arguments: zip([false, true, true], [false, true, false]))
    func aRetryNamingAnotherRequestIsRefused(firstClosedARequest: Bool, retryNamesIt: Bool) throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let first = "d0000000-0000-4000-8000-000000000001"
        let second = "d0000000-0000-4000-8000-000000000002"
        _ = try ledger.append(
            [
                try Fixture.event(#"{"type":"erasure.requested","subject":"ola","eventId":"\#(first)"}"#),
                try Fixture.event(#"{"type":"erasure.requested","subject":"ola","eventId":"\#(second)"}"#),
            ],
            actor: "t"
        )
        let recorded = try ledger.recordErasure(
            subject: "ola",
            requestId: firstClosedARequest ? first : nil,
            actor: "t"
        )
        var refused = [second, "d0000000-0000-4000-8000-0000000000ff"]
        if !firstClosedARequest { refused.append(first) }
        for requestId in refused {
            #expect(
                errorCode { _ = try ledger.erase(subject: "ola", requestId: requestId, actor: "t") } == .requestNotOpen,
                "a retry naming \(requestId)"
            )
        }
        #expect(try ledger.head().seq == recorded.result.seq)
        let requests = try ledger.storedRequests()
        #expect(requests[first]?.status == (firstClosedARequest ? "completed" : "open"))
        #expect(requests[second]?.status == "open")
        // The same request again (or none) is the same erasure: answered with its event, which it finishes.
        let retried = try ledger.erase(subject: "ola", requestId: retryNamesIt ? first : nil, actor: "t")
        #expect(retried == recorded.result)
        #expect(try ledger.head().seq == recorded.result.seq)
        #expect(try ledger.storedKeyRecord(pseudonym: recorded.result.pseudonym) == nil)
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

    /// An append for the subject's external id between an erasure's event and its key's overwrite
    /// (the server's appends go on then): it becomes a new subject, the erasure's overwrite and
    /// slot-number deletion still complete, the old key is in no file, and the new subject's key
    /// is untouched.
    @Test func anAppendBetweenAnErasuresEventAndItsOverwriteMakesANewSubject() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let pseudonym = try populate(ledger)
        let keyRecord = try storedKeyRecord(ledger, pseudonym)
        let recorded = try ledger.recordErasure(subject: Self.external, requestId: nil, actor: "t")
        let again = try ledger.append(
            [try Fixture.grant(Self.external, extra: #","data":{"note":"came back"}"#)],
            actor: "t"
        )
        #expect(again[0].subject != pseudonym)
        #expect(try ledger.storedKeyRecord(pseudonym: pseudonym) == nil, "the append left the erased key in place")
        try ledger.shredKey(of: recorded)
        try ledger.finishErasure(recorded)
        // The old wrapped key is in no file; the lookup hash (the same external id's) only in the
        // new subject's record.
        #expect(Fixture.filesContaining(bytes: Array(keyRecord[0..<60]), under: directory.ledger).isEmpty)
        let newRecord = try storedKeyRecord(ledger, again[0].subject)
        #expect(newRecord[60..<92] == keyRecord[60..<92])
        let slots = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory.ledger + "/keys/slots")))
        let copies = stride(from: 0, to: slots.count, by: SubjectSlots.recordSize).filter {
            slots[$0..<$0 + 32].elementsEqual(keyRecord[60..<92])
        }
        #expect(copies.count == 1)
        #expect(try ledger.pseudonym(of: Self.external) == again[0].subject)
        #expect(try ledger.history(pseudonym: again[0].subject).first?.data == #"{"note":"came back"}"#)
        #expect(try ledger.history(pseudonym: pseudonym).allSatisfy(\.erased))
        #expect(try ledger.verify().isValid)
        // The old subject's slot number is gone: the key store counts the other subject and the new one.
        #expect(try ledger.keyStore.subjectCount() == 2)
    }

    /// The same window, entered by a batch whose first line is a retry of one of the subject's
    /// earlier events (its comparison unwraps the key that is about to go) and whose second is a
    /// new grant for the same external id: the grant still goes to a new subject.
    @Test func aRetryBeforeAnAppendInTheErasureWindowStillMakesANewSubject() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let eventId = "0192f1a3-7b4c-4d5e-8f60-a1b2c3d4e5f6"
        let original = try Fixture.grant(Self.external, extra: #","eventId":"\#(eventId)""#)
        let first = try ledger.append([original], actor: "t")
        let pseudonym = first[0].subject
        let recorded = try ledger.recordErasure(subject: Self.external, requestId: nil, actor: "t")
        let batch = try ledger.append(
            [original, try Fixture.grant(Self.external, "surveys", extra: #","data":{"note":"came back"}"#)],
            actor: "t"
        )
        #expect(batch[0].replayed && batch[0].seq == first[0].seq)
        #expect(batch[1].subject != pseudonym, "the grant went to the subject whose key is about to be destroyed")
        #expect(try ledger.storedKeyRecord(pseudonym: pseudonym) == nil)
        try ledger.shredKey(of: recorded)
        try ledger.finishErasure(recorded)
        #expect(try ledger.pseudonym(of: Self.external) == batch[1].subject)
        #expect(try ledger.history(pseudonym: batch[1].subject).first?.data == #"{"note":"came back"}"#)
        #expect(try ledger.verify().isValid)
    }

    /// An erasure whose event is in the log but whose key overwrite did not happen, or stopped
    /// after the index buckets (a full disk or an I/O error): the subject reads as erased at once,
    /// and the same call again finishes it and answers the same event, with no second event —
    /// found through its pending marker when the buckets are gone; once finished, the id is unknown.
    @Test(arguments: [false, true])
    func aRetriedErasureFinishesOneWhoseOverwriteFailed(afterTheBuckets: Bool) throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let pseudonym = try populate(ledger)
        let keyRecord = try storedKeyRecord(ledger, pseudonym)
        let recorded = try ledger.recordErasure(subject: Self.external, requestId: nil, actor: "t")
        #expect(try ledger.storedKeyRecord(pseudonym: pseudonym) != nil)
        #expect(try ledger.history(pseudonym: pseudonym).allSatisfy { $0.erased && $0.data == nil })
        if afterTheBuckets {
            // The state an overwrite that failed after its buckets leaves: no bucket names the slot.
            let raw = try #require(Hex.decode(pseudonym))
            let slot = try #require(try ledger.keyStore.pseudonymsInSlots().firstIndex(of: raw))
            let path = directory.ledger + "/keys/index"
            var index = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            var marked = 0
            for at in stride(from: 0, to: index.count, by: SubjectSlots.bucketSize)
            where (0..<4).reduce(UInt32(0), { $0 | UInt32(index[at + $1]) << ($1 * 8) }) == UInt32(slot + 1) {
                index.replaceSubrange(at..<at + 8, with: [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0])
                marked += 1
            }
            #expect(marked == 1)
            try Data(index).write(to: URL(fileURLWithPath: path))
            #expect(try ledger.pseudonym(of: Self.external) == nil)
        }
        let retried = try ledger.erase(subject: Self.external, requestId: nil, actor: "t")
        #expect(retried == recorded.result)
        #expect(try ledger.head().seq == recorded.result.seq)
        #expect(!files(under: directory.ledger, holdAnyOf: keyRecord))
        #expect(
            errorCode { _ = try ledger.erase(subject: Self.external, requestId: nil, actor: "t") } == .subjectNotFound
        )
        #expect(try ledger.verify().isValid)
    }

    @Test func aCrashBetweenTheEventAndTheKeyDeletionIsRepairedAtOpen() throws {
        let directory = TemporaryDirectory()
        let options = Fixture.options()
        var ledger: Ledger? = try Fixture.ledger(in: directory, options: options)
        let pseudonym = try populate(try #require(ledger))
        let keyRecord = try storedKeyRecord(try #require(ledger), pseudonym)
        let recorded = try #require(ledger).recordErasure(subject: Self.external, requestId: nil, actor: "t")
        #expect(recorded.result.seq == 4)
        // The "crash": the event is committed, the key is still there.
        #expect(try #require(ledger).storedKeyRecord(pseudonym: pseudonym) != nil)
        // Erased to every reader from its event on, though its key is still there.
        #expect(try #require(ledger).history(pseudonym: pseudonym).allSatisfy(\.erased))
        ledger = nil
        let reopened = try Ledger(openingAt: directory.ledger, options: options)
        #expect(try reopened.history(pseudonym: pseudonym).allSatisfy(\.erased))
        #expect(try reopened.pseudonym(of: Self.external) == nil)
        #expect(!files(under: directory.ledger, holdAnyOf: keyRecord))
        for needle in [Self.external, Self.marker] {
            #expect(Fixture.filesContaining(needle, under: directory.ledger).isEmpty, "\(needle) survives the repair")
        }
        #expect(try reopened.verify().isValid)
        #expect(try reopened.head().seq == 4)
    }

    /// An erasure needs no exclusive access: with another process holding the key store open, it
    /// completes at once and leaves nothing (in the first layout it had to wait for that process,
    /// to swap in a compacted copy).
    @Test func anErasureBesideAnotherProcessCompletesAtOnce() throws {
        let directory = TemporaryDirectory()
        var options = Fixture.options()
        options.compactionWait = 0.2
        let ledger = try Fixture.ledger(in: directory, options: options)
        let pseudonym = try populate(ledger)
        let keyRecord = try storedKeyRecord(ledger, pseudonym)
        // Another open file description's shared lock stands for another process.
        let otherProcess = try FileLock(path: directory.ledger + "/keys/compact.lock")
        _ = try ledger.erase(subject: Self.external, requestId: nil, actor: "t")
        #expect(try ledger.pseudonym(of: Self.external) == nil)
        #expect(try ledger.isErased(pseudonym: pseudonym))
        #expect(!files(under: directory.ledger, holdAnyOf: keyRecord))
        #expect(!FileManager.default.fileExists(atPath: directory.ledger + "/keys/compact.pending"))
        #expect(try ledger.pseudonym(of: "someone.else@example.no") != nil)
        withExtendedLifetime(otherProcess) {}
    }

    /// A symbolic link at `keys/compact.pending`, to an existing file or to nothing, makes a
    /// compaction fail with `io_error` before it copies anything, never followed: the link's target
    /// keeps its bytes and mode, a dangling link's target is not created, and the link stays for
    /// the operator to see. With the link gone the compaction runs and removes its own marker.
    @Test func aLinkAtTheCompactionMarkerIsRefusedAndItsTargetLeftUntouched() throws {
        let directory = TemporaryDirectory()
        let targets = try LinkTargets(in: directory.path)
        let ledger = try Fixture.ledger(in: directory)
        _ = try populate(ledger)
        let marker = directory.ledger + "/keys/compact.pending"
        for destination in targets.destinations {
            try targets.plant(at: marker, to: destination)
            let refused = try #require(throws: LedgerError.self) { try ledger.compactKeyStore() }
            #expect(refused.code == .ioError && refused.message.contains("symbolic link"), "\(refused.message)")
            #expect(isLink(marker))
        }
        #expect(try targets.untouched())
        unlink(marker)
        try ledger.compactKeyStore()
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(try ledger.pseudonym(of: Self.external) != nil)
    }

    /// A compaction that is refused keeps its shared lock: a second compactor cannot replace the
    /// file under the first one's open environment (the lost-keys defect of `flock` upgrades).
    @Test func aRefusedUpgradeKeepsTheSharedLock() throws {
        let directory = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        let first = try FileLock(path: directory.path + "/lock")
        let second = try FileLock(path: directory.path + "/lock")
        #expect(!first.upgrade(waitingUpTo: 0.05))
        #expect(!second.upgrade(waitingUpTo: 0.05), "the first still holds its shared lock")
        #expect(!first.upgrade(waitingUpTo: 0.05))
    }

    /// On a full disk an erasure either completes or changes nothing a reopen does not finish: it
    /// writes no new block of the key store (its slot and bucket are overwritten where they are),
    /// so only its event can fail for room, and then the subject is intact. Either way, once there
    /// is room the key is in no byte of any file.
    @Test func onAFullDiskAnErasureCompletesOrChangesNothing() throws {
        guard let mount = TmpfsMount(size: "20m") else { return }  // needs root
        let mountPoint = mount.path
        let ledgerPath = mountPoint + "/ledger"
        var options = Fixture.options()
        options.initialMapSize = 1 << 24
        var ledger: Ledger? = try Ledger.create(at: ledgerPath, catalogue: nil, options: options).ledger
        let pseudonym = try populate(try #require(ledger))
        let keyRecord = try storedKeyRecord(try #require(ledger), pseudonym)
        for chunk in 0..<2 {
            _ = try #require(ledger).append(
                try (0..<1_000).map { try Fixture.grant("bulk-\(chunk)-\($0)@example.no") },
                actor: "t"
            )
        }
        let filler = mountPoint + "/filler"
        TmpfsMount.fill(filler, leaving: 0)
        do {
            _ = try #require(ledger).erase(subject: Self.external, requestId: nil, actor: "t")
            #expect(!files(under: ledgerPath, holdAnyOf: keyRecord), "an erasure reported done left the key")
        } catch let error as LedgerError {
            #expect([.ledgerFull, .ioError].contains(error.code), "\(error)")
            if try #require(ledger).isErased(pseudonym: pseudonym) == false {
                #expect(
                    try #require(ledger).pseudonym(of: Self.external) == pseudonym,
                    "a refused erasure lost the key"
                )
            }
        }
        try FileManager.default.removeItem(atPath: filler)
        if try #require(ledger).isErased(pseudonym: pseudonym) == false {
            _ = try #require(ledger).erase(subject: Self.external, requestId: nil, actor: "t")
        } else {
            // An erasure whose event committed: the next open finishes it, if it was not finished.
            ledger = nil
            ledger = try Ledger(openingAt: ledgerPath, options: options)
        }
        #expect(try #require(ledger).pseudonym(of: Self.external) == nil)
        #expect(!files(under: ledgerPath, holdAnyOf: keyRecord))
        #expect(Fixture.filesContaining(Self.external, under: ledgerPath).isEmpty)
        #expect(try #require(ledger).verify().isValid)
        #expect(try #require(ledger).pseudonym(of: "someone.else@example.no") != nil)
    }
}
