import Foundation
import TestSupport
import Testing

@testable import Ledger

/// The key store (``KeyStore``: lookup hash → pseudonym, pseudonym → wrapped key, the count of
/// subjects created) against a model of live and erased subjects: seeded appends that create
/// subjects and add to them, erasures, compactions, reopens and group commits whose refused batch
/// created subjects. After every step every live subject resolves and decrypts each of its
/// payloads, every erased one has neither key nor lookup entry and reads as erased, and the
/// counters equal the model's.
struct KeyStoreModelTests {
    struct Subject {
        var externalId: String
        var pseudonym: String
        /// seq → the `data` its event carries.
        var events: [(seq: UInt64, data: String)] = []
    }

    struct Model {
        var live: [String: Subject] = [:]
        var erased: [String: Subject] = [:]
        var created: UInt64 = 0
        var head: UInt64 = 0
    }

    /// The key store's `subjects` table, read raw, and the pseudonyms its slots in use hold.
    static func stored(_ ledger: Ledger) throws -> (subjects: Set<String>, slotted: [String]) {
        let subjects = try ledger.keyStore.withEnvironment { env in
            try env.read { txn in
                var subjects: Set<String> = []
                try txn.forEach(in: env.table("subjects")) { key, _ in
                    subjects.insert(Hex.encode(Array(key)))
                    return true
                }
                return subjects
            }
        }
        return (subjects, try ledger.keyStore.pseudonymsInSlots().map(Hex.encode))
    }

    /// Whether every byte of `keys/slots` past the slots in use is zero: no refused or rolled-back
    /// subject's record stays behind.
    static func slotsPastTheEndAreZero(_ ledger: Ledger) throws -> Bool {
        let used = Int(try ledger.keyStore.slotGeometry().slotsUsed) * SubjectSlots.recordSize
        let bytes = try Data(contentsOf: URL(fileURLWithPath: ledger.keyStore.directory + "/slots"))
        return bytes.count <= used || bytes[used...].allSatisfy { $0 == 0 }
    }

    static func check(_ ledger: Ledger, _ model: Model, context: String) throws {
        #expect(try ledger.head().seq == model.head, "\(context): head")
        #expect(try ledger.keyStore.subjectsCreated() == model.created, "\(context): subjectsCreated (key store)")
        let logCount = try ledger.events.read { txn in
            try KeyStore.counter(
                EventsSchema.MetaKey.subjectsCreated,
                in: txn,
                table: ledger.events.table(EventsSchema.meta)
            )
        }
        #expect(logCount == model.created, "\(context): subjectsCreated (log)")
        #expect(try ledger.keyStore.subjectCount() == model.live.count, "\(context): live subjects")
        let (subjects, targets) = try stored(ledger)
        #expect(subjects == Set(model.live.values.map(\.pseudonym)), "\(context): the subjects table")
        #expect(targets.sorted() == model.live.values.map(\.pseudonym).sorted(), "\(context): the slots")
        #expect(try slotsPastTheEndAreZero(ledger), "\(context): a refused subject's slot stays written")
        for subject in model.live.values {
            #expect(try ledger.pseudonym(of: subject.externalId) == subject.pseudonym, "\(context): resolves")
            let history = try ledger.history(pseudonym: subject.pseudonym)
            #expect(history.map(\.event.seq) == subject.events.map(\.seq), "\(context): its events")
            for (read, want) in zip(history, subject.events) {
                #expect(
                    !read.erased && read.externalId == subject.externalId && read.data == want.data,
                    "\(context): seq \(want.seq) decrypts"
                )
            }
        }
        for subject in model.erased.values {
            #expect(try ledger.isErased(pseudonym: subject.pseudonym), "\(context): erased")
            let history = try ledger.history(pseudonym: subject.pseudonym)
            #expect(history.count == subject.events.count + 1, "\(context): its events and the erasure")
            #expect(
                history.allSatisfy { $0.erased && $0.data == nil && $0.externalId == nil },
                "\(context): nothing of an erased subject decrypts"
            )
            if model.live[subject.externalId] == nil {
                #expect(try ledger.pseudonym(of: subject.externalId) == nil, "\(context): no lookup entry")
            }
            let raw = try #require(Hex.decode(subject.pseudonym))
            let key = try ledger.keyStore.withEnvironment { env in
                try env.read { try ledger.keyStore.wrappedKey(pseudonym: raw, in: $0, environment: env) }
            }
            #expect(key == nil, "\(context): no key")
        }
    }

    struct Generator {
        var random: SplitMix64
        let pool: Int
        var counter = 0

        mutating func event(subject: String? = nil) throws -> (ModelEvent, String) {
            counter += 1
            let data = #"{"v":"k\#(counter)"}"#
            let externalId = subject ?? "key-\(random.below(pool))@example.no"
            let event: ModelEvent
            switch random.below(3) {
            case 0: event = ModelEvent("access.requested", subject: externalId, data: data)
            case 1:
                event = ModelEvent(
                    "consent.withdrawn",
                    subject: externalId,
                    [("purpose", random.pick(modelConsentPurposes) ?? "newsletter")],
                    data: data
                )
            default:
                event = ModelEvent(
                    "consent.granted",
                    subject: externalId,
                    [("purpose", random.pick(modelConsentPurposes) ?? "newsletter"), ("notice", "policy-v1")],
                    data: data
                )
            }
            return (event, data)
        }
    }

    /// Folds the results of an accepted batch into the model.
    static func accept(
        _ results: [AppendResult],
        _ batch: [(ModelEvent, String)],
        into model: inout Model,
        context: String
    ) {
        for (result, (event, data)) in zip(results, batch) {
            let externalId = event.string("subject") ?? ""
            if model.live[externalId] == nil {
                #expect(model.erased[result.subject] == nil, "\(context): a new pseudonym after an erasure")
                model.live[externalId] = Subject(externalId: externalId, pseudonym: result.subject)
                model.created += 1
            }
            #expect(model.live[externalId]?.pseudonym == result.subject, "\(context): the subject's pseudonym")
            model.live[externalId]?.events.append((result.seq, data))
        }
        model.head += UInt64(results.count)
    }

    func run(seed: UInt64, pool: Int, rounds: Int) throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock()
        let options = Fixture.options(clock: clock, seed: "keys-\(seed)")
        var ledger: Ledger? = try Fixture.ledger(in: directory, options: options)
        var generator = Generator(random: SplitMix64(seed: seed), pool: pool)
        var model = Model()
        for round in 0..<rounds {
            let context = "seed \(seed), round \(round)"
            let current = try #require(ledger)
            clock.advance(milliseconds: 1_000)
            let op = generator.random.below(100)
            if op < 12, let subject = generator.random.pick(model.live.keys.sorted()) {
                let result = try current.erase(subject: subject, requestId: nil, actor: "privacy-office")
                let removed = model.live.removeValue(forKey: subject)
                let erased = try #require(removed)
                #expect(result.pseudonym == erased.pseudonym, "\(context)")
                model.erased[erased.pseudonym] = erased
                model.head += 1
            } else if op < 18 {
                try current.compactKeyStore()
            } else if op < 24 {
                ledger = nil
                ledger = try Ledger(openingAt: directory.ledger, options: options)
            } else if op < 40 {
                // A group commit: the refused batch's new subjects must leave no key, lookup or count.
                let good = try (0..<generator.random.inRange(1...20)).map { _ in try generator.event() }
                var refused = try (0..<generator.random.inRange(1...20)).map { _ in try generator.event() }
                refused.insert(
                    (
                        ModelEvent(
                            "access.completed",
                            subject: "never-\(round)",
                            [("requestId", generator.random.uuid())]
                        ), ""
                    ),
                    at: generator.random.below(refused.count + 1)
                )
                let outcomes = try current.appendGroup([
                    (try current.prepare(try refused.map { try $0.0.decoded() }), "refused"),
                    (try current.prepare(try good.map { try $0.0.decoded() }), "keys"),
                ])
                guard outcomes.count == 2, case .failure(let error) = outcomes[0], error.code == .requestNotOpen,
                    case .success(let results) = outcomes[1]
                else {
                    Issue.record("\(context): \(outcomes)")
                    return
                }
                Self.accept(results, good, into: &model, context: context)
            } else {
                // Sizes around the parallel unwrap threshold (16), or one hot subject's many events.
                let size = generator.random.pick([1, 2, 15, 16, 17, 33, 64]) ?? 1
                let batch = try (0..<size).map { _ in try generator.event() }
                let results = try current.append(try batch.map { try $0.0.decoded() }, actor: "keys")
                Self.accept(results, batch, into: &model, context: context)
            }
            try Self.check(try #require(ledger), model, context: context)
        }
        #expect(model.erased.count > 1 && model.created > UInt64(model.erased.count), "seed \(seed): a varied run")
    }

    @Test(arguments: ModelSeeds.all)
    func oneHotSubjectsKeysMatchTheModel(seed: UInt64) throws {
        try run(seed: seed, pool: 1, rounds: 50)
    }

    @Test(arguments: ModelSeeds.all)
    func manySubjectsKeysMatchTheModel(seed: UInt64) throws {
        try run(seed: seed, pool: 250, rounds: 50)
    }
}
