import TestSupport
import Testing

@testable import Ledger

/// The event-id index (`eventIds`: event UUID → seq, the idempotency key of SPEC §7) against a
/// model: seeded batches of new events, retries of earlier ids with the same content (the
/// original answer) and with other content (`event_id_conflict`, unless the subject has since
/// been erased), duplicates inside a batch, group commits whose refused batches must leave no id
/// behind, and erasures. After every commit the whole index must equal the model's.
struct EventIdIndexModelTests {
    /// What the model knows of the ledger.
    struct Model {
        /// Every id the index must hold → its seq (client ids, generated ids, erasure events).
        var ids: [String: UInt64] = [:]
        /// Ids a client sent → the event as first sent and the answer it got.
        var sent: [String: (event: ModelEvent, result: AppendResult)] = [:]
        var head: UInt64 = 0
        var recordedAt: Timestamp?
        /// External id → pseudonym, for live subjects.
        var live: [String: String] = [:]
        var erased: Set<String> = []
        /// The ids of the requests events opened (request records are written while a batch is
        /// validated, so a refused batch must roll them back as well).
        var requests: Set<String> = []
        /// How often the run reached each path, so a generator that stops reaching one fails.
        var reached: [String: Int] = [:]
    }

    /// A line of a batch and what the model expects of it.
    enum Line {
        /// A new event (with a client id or none).
        case fresh(ModelEvent)
        /// A retry of a client id sent before, with the same content.
        case retry(String)
        /// A client id sent before (or earlier in the batch), with other content.
        case reuse(String, ModelEvent)
    }

    /// What a batch should do: the answers (`nil` where only the shape is known: a new event) or
    /// the refusal.
    enum Expected {
        case accepted(model: Model, lines: [ExpectedLine])
        case refused(code: LedgerError.Code, line: Int)
    }

    enum ExpectedLine {
        case new(seq: UInt64, eventId: String?, externalId: String)
        case replay(AppendResult)
        case sameAsLine(Int)
    }

    /// The model's answer for `lines`, appended at `now`.
    static func expect(_ lines: [(Line, ModelEvent)], after model: Model, now: Timestamp) -> Expected {
        var next = model
        var expected: [ExpectedLine] = []
        var inBatch: [String: (line: Int, event: ModelEvent)] = [:]
        var accepted: UInt64 = 0
        for (index, (line, event)) in lines.enumerated() {
            let id = event.string("eventId")
            if let id, let earlier = inBatch[id] {
                guard earlier.event == event else { return .refused(code: .eventIdConflict, line: index + 1) }
                expected.append(.sameAsLine(earlier.line))
                continue
            }
            if let id, let original = model.sent[id] {
                let erased = model.erased.contains(original.result.subject)
                if case .reuse = line, !erased { return .refused(code: .eventIdConflict, line: index + 1) }
                var replay = original.result
                replay.replayed = true
                expected.append(.replay(replay))
                continue
            }
            if event.string("type") == "access.completed" {
                return .refused(code: .requestNotOpen, line: index + 1)
            }
            if event.string("occurredAt") == "2099-01-01T00:00:00.000Z" {
                return .refused(code: .occurredInFuture, line: index + 1)
            }
            accepted += 1
            expected.append(.new(seq: model.head + accepted, eventId: id, externalId: event.string("subject") ?? ""))
            if let id { inBatch[id] = (index, event) }
        }
        next.head += accepted
        if accepted > 0 { next.recordedAt = max(now, model.recordedAt ?? now) }
        return .accepted(model: next, lines: expected)
    }

    /// Checks `results` against `expected` and folds them into the model; returns the new model.
    static func check(
        _ results: [AppendResult],
        lines: [(Line, ModelEvent)],
        expected: [ExpectedLine],
        model: Model,
        seed: UInt64,
        round: Int
    ) -> Model {
        var next = model
        let context = "seed \(seed), round \(round)"
        #expect(results.count == expected.count, "\(context)")
        var newSubjects: [String: String] = [:]
        for (index, (result, want)) in zip(results, expected).enumerated() {
            let event = lines[index].1
            switch want {
            case .replay(let original):
                if case .reuse = lines[index].0 {
                    next.reached["other content for an erased subject", default: 0] += 1
                } else {
                    next.reached["retry", default: 0] += 1
                }
                #expect(result == original, "\(context), line \(index + 1): a retry answers the original")
            case .sameAsLine(let earlier):
                next.reached["duplicate in a batch", default: 0] += 1
                var first = results[earlier]
                first.replayed = result.replayed
                #expect(result == first, "\(context), line \(index + 1): a duplicate answers its first line")
            case .new(let seq, let eventId, let externalId):
                #expect(result.seq == seq && !result.replayed, "\(context), line \(index + 1)")
                if let eventId { #expect(result.eventId == eventId, "\(context), line \(index + 1)") }
                #expect(result.recordedAt == next.recordedAt, "\(context), line \(index + 1)")
                if let pseudonym = model.live[externalId] {
                    #expect(result.subject == pseudonym, "\(context), line \(index + 1): the live subject")
                } else if let known = newSubjects[externalId] {
                    #expect(result.subject == known, "\(context), line \(index + 1): one new subject per id")
                } else {
                    #expect(!model.erased.contains(result.subject), "\(context): a new subject gets a new pseudonym")
                    #expect(!model.live.values.contains(result.subject), "\(context): a new pseudonym")
                    newSubjects[externalId] = result.subject
                }
                next.ids[result.eventId] = result.seq
                if eventId != nil { next.sent[result.eventId] = (event, result) }
                if event.string("type") == "access.requested" { next.requests.insert(result.eventId) }
                next.live[externalId] = result.subject
            }
        }
        return next
    }

    /// Every entry of the event-id index, as UUID text → seq.
    static func index(of ledger: Ledger) throws -> [String: UInt64] {
        try ledger.events.read { txn in
            var found: [String: UInt64] = [:]
            try txn.forEach(in: ledger.events.table(EventsSchema.eventIds)) { key, value in
                found[UUIDText.format(Array(key))] = EventsSchema.seq(fromKey: value) ?? 0
                return true
            }
            return found
        }
    }

    /// Checks the stored index and the head against the model.
    static func checkStore(_ ledger: Ledger, _ model: Model, seed: UInt64, round: Int) throws {
        let stored = try index(of: ledger)
        #expect(try ledger.head().seq == model.head, "seed \(seed), round \(round)")
        #expect(stored.count == model.ids.count, "seed \(seed), round \(round): index size")
        #expect(
            Set(try ledger.storedRequests().keys) == model.requests,
            "seed \(seed), round \(round): request records"
        )
        if stored != model.ids {
            let missing = model.ids.keys.filter { stored[$0] != model.ids[$0] }.sorted().prefix(3)
            let extra = stored.keys.filter { model.ids[$0] == nil }.sorted().prefix(3)
            Issue.record("seed \(seed), round \(round): index differs; missing/wrong \(missing), extra \(extra)")
        }
    }

    /// The generator of one run: subjects, events, retries and poisoned lines.
    struct Generator {
        var random: SplitMix64
        let subjects: Int
        var counter = 0

        mutating func externalId() -> String { "subject-\(random.below(subjects))@example.no" }

        mutating func newEvent(subject: String? = nil) -> ModelEvent {
            counter += 1
            let data = random.chance(50) ? #"{"n":\#(counter),"note":"e\#(counter)"}"# : nil
            if random.chance(15) {
                return ModelEvent(
                    "access.requested",
                    subject: subject ?? externalId(),
                    [("eventId", random.uuid())],
                    data: data
                )
            }
            let type = random.chance(80) ? "consent.granted" : "consent.withdrawn"
            var strings = [("purpose", random.pick(modelConsentPurposes) ?? "newsletter")]
            if type == "consent.granted" { strings.append(("notice", "policy-v1")) }
            if random.chance(75) { strings.append(("eventId", random.uuid())) }
            if random.chance(20) { strings.append(("occurredAt", "2026-02-01T00:00:00.000Z")) }
            return ModelEvent(type, subject: subject ?? externalId(), strings, data: data)
        }

        /// `event` with other content (another purpose or data), same id.
        mutating func altered(_ event: ModelEvent) -> ModelEvent {
            var other = event
            if let index = other.fields.firstIndex(where: { $0.key == "data" }), random.chance(50) {
                other.fields[index].json = #"{"n":-1}"#
            } else if let index = other.fields.firstIndex(where: { $0.key == "purpose" }) {
                let purpose = other.string("purpose") ?? ""
                other.fields[index].json = ModelEvent.quoted(
                    modelConsentPurposes.first { $0 != purpose } ?? "newsletter"
                )
            } else if let index = other.fields.firstIndex(where: { $0.key == "data" }) {
                other.fields[index].json = #"{"n":-2}"#
            } else {
                other.fields.append(("data", #"{"n":-3}"#))
            }
            return other
        }

        /// A batch of `size` lines; with `poison`, one line of it is refused.
        mutating func batch(
            size: Int,
            model: Model,
            poison: Bool,
            recent: [(Line, ModelEvent)] = []
        ) -> [(Line, ModelEvent)] {
            var lines: [(Line, ModelEvent)] = []
            let sentIds = Array(model.sent.keys).sorted()
            let erasedIds = sentIds.filter { model.sent[$0].map { model.erased.contains($0.result.subject) } ?? false }
            for _ in 0..<size {
                let roll = random.below(100)
                if roll < 15, let id = random.pick(sentIds), let original = model.sent[id] {
                    lines.append((.retry(id), original.event.reordered(by: &random)))
                } else if roll < 20, let id = random.pick(erasedIds), let original = model.sent[id] {
                    // Other content for an erased subject's id: cannot be compared, answered 200.
                    let other = altered(original.event)
                    lines.append((.reuse(id, other), other))
                } else if roll < 25, let earlier = random.pick(recent + lines.compactMap(Self.freshWithId)) {
                    // A duplicate of an earlier line of this batch or of an earlier batch of the group.
                    lines.append((.retry(earlier.1.string("eventId") ?? ""), earlier.1))
                } else {
                    let event = newEvent()
                    lines.append((.fresh(event), event))
                }
            }
            if poison, !lines.isEmpty {
                let at = random.below(lines.count)
                switch random.below(3) {
                case 0:
                    let live = sentIds.filter { id in
                        model.sent[id].map { !model.erased.contains($0.result.subject) } ?? false
                    }
                    if let id = random.pick(live), let original = model.sent[id] {
                        let other = altered(original.event)
                        lines[at] = (.reuse(id, other), other)
                    } else {
                        lines[at] = poisonRequest()
                    }
                case 1: lines[at] = poisonRequest()
                default:
                    let event = ModelEvent(
                        "consent.granted",
                        subject: externalId(),
                        [
                            ("purpose", "newsletter"), ("notice", "policy-v1"),
                            ("occurredAt", "2099-01-01T00:00:00.000Z"),
                        ]
                    )
                    lines[at] = (.fresh(event), event)
                }
            }
            return lines
        }

        static func freshWithId(_ line: (Line, ModelEvent)) -> (Line, ModelEvent)? {
            guard case .fresh = line.0, line.1.string("eventId") != nil else { return nil }
            return line
        }

        mutating func poisonRequest() -> (Line, ModelEvent) {
            let event = ModelEvent("access.completed", subject: externalId(), [("requestId", random.uuid())])
            return (.fresh(event), event)
        }
    }

    /// One seeded run: `rounds` commits of batches sized to cross 1, 15/16/17 (the parallel
    /// unwrap threshold) and a few hundred, single appends and group commits, and erasures.
    func run(seed: UInt64, subjects: Int, rounds: Int, largeBatch: Int? = nil) throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock()
        let ledger = try Fixture.ledger(in: directory, options: Fixture.options(clock: clock, seed: "ids-\(seed)"))
        var generator = Generator(random: SplitMix64(seed: seed), subjects: subjects)
        var model = Model()
        let sizes = [1, 1, 2, 3, 15, 16, 17, 40, 255, 256, 257]
        for round in 0..<rounds {
            clock.advance(milliseconds: Int64(generator.random.below(3) * 1_000))
            let now = clock.now()
            // Halfway, one large single append (never poisoned), so the index grows by thousands at once.
            let large = round == rounds / 2
            let op = large ? 99 : generator.random.below(100)
            if op < 8, let externalId = generator.random.pick(model.live.keys.sorted()) {
                let result = try ledger.erase(subject: externalId, requestId: nil, actor: "privacy-office")
                let eventId = try #require(try ledger.event(seq: result.seq)).eventId
                model.head += 1
                model.recordedAt = max(now, model.recordedAt ?? now)
                model.ids[eventId] = result.seq
                model.erased.insert(result.pseudonym)
                model.reached["erasure", default: 0] += 1
                model.live[externalId] = nil
            } else if op < 40 {
                // A group commit: each batch sees the ones before it; a refused one leaves nothing.
                var batches: [[(Line, ModelEvent)]] = []
                for _ in 0..<(1 + generator.random.below(4)) {
                    let size = generator.random.pick(sizes) ?? 1
                    batches.append(
                        generator.batch(
                            size: size,
                            model: model,
                            poison: generator.random.chance(35),
                            recent: batches.flatMap { $0.compactMap(Generator.freshWithId) }
                        )
                    )
                }
                let prepared = try batches.map { lines in
                    (events: try ledger.prepare(try lines.map { try $0.1.decoded() }), actor: "group")
                }
                let outcomes = try ledger.appendGroup(prepared)
                for (index, outcome) in outcomes.enumerated() {
                    // Against the model after the batches before: a retry of an id an earlier batch
                    // appended gets that answer; of one a refused batch held, it is new.
                    let expected = Self.expect(batches[index], after: model, now: now)
                    switch (outcome, expected) {
                    case (.success(let results), .accepted(let next, let lines)):
                        model = Self.check(
                            results,
                            lines: batches[index],
                            expected: lines,
                            model: next,
                            seed: seed,
                            round: round
                        )
                    case (.failure(let error), .refused(let code, let line)):
                        #expect(error.code == code && error.line == line, "seed \(seed), round \(round)")
                        model.reached["refused in a group: \(code.rawValue)", default: 0] += 1
                    default:
                        Issue.record("seed \(seed), round \(round), batch \(index): got \(outcome), want \(expected)")
                    }
                }
            } else {
                let size = large ? (largeBatch ?? 300) : generator.random.pick(sizes) ?? 1
                let lines = generator.batch(size: size, model: model, poison: !large && generator.random.chance(20))
                let expected = Self.expect(lines, after: model, now: now)
                let events = try lines.map { try $0.1.decoded() }
                switch expected {
                case .accepted(let next, let expectedLines):
                    let results = try ledger.append(events, actor: "single")
                    model = Self.check(
                        results,
                        lines: lines,
                        expected: expectedLines,
                        model: next,
                        seed: seed,
                        round: round
                    )
                case .refused(let code, let line):
                    let error = ledgerError { _ = try ledger.append(events, actor: "single") }
                    #expect(
                        error?.code == code && error?.line == line,
                        "seed \(seed), round \(round): \(String(describing: error))"
                    )
                    model.reached["refused: \(code.rawValue)", default: 0] += 1
                }
            }
            try Self.checkStore(ledger, model, seed: seed, round: round)
        }
        #expect(model.ids.count > rounds + (largeBatch ?? 0) / 2, "seed \(seed): the run appended")
        for path in ["retry", "duplicate in a batch", "other content for an erased subject", "erasure"] {
            #expect(model.reached[path] ?? 0 > 0, "seed \(seed) never reached \(path): \(model.reached)")
        }
        let conflicts = model.reached.filter { $0.key.hasSuffix("event_id_conflict") }.values.reduce(0, +)
        let groupRefusals = model.reached.filter { $0.key.hasPrefix("refused in a group") }.values.reduce(0, +)
        #expect(conflicts > 0 && groupRefusals > 0, "seed \(seed): \(model.reached)")
    }

    @Test(arguments: ModelSeeds.all)
    func oneHotSubjectsEventIdsMatchTheModel(seed: UInt64) throws {
        try run(seed: seed, subjects: 1, rounds: 60)
    }

    @Test(arguments: ModelSeeds.all)
    func manySubjectsEventIdsMatchTheModel(seed: UInt64) throws {
        try run(seed: seed, subjects: 400, rounds: 60, largeBatch: seed == 1 ? Ledger.maxBatchSize : nil)
    }

    @Test func aBatchOverTheLimitIsRefusedAndLeavesNoId() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        var generator = Generator(random: SplitMix64(seed: 99), subjects: 50)
        let events = try (0...Ledger.maxBatchSize).map { _ in try generator.newEvent().decoded() }
        #expect(errorCode { _ = try ledger.append(events, actor: "x") } == .batchTooLarge)
        #expect(try Self.index(of: ledger).isEmpty)
        #expect(try ledger.head().seq == 0)
    }
}
