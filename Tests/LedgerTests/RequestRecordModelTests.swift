import TestSupport
import Testing

@testable import Ledger
@testable import Projections

/// Request records (the `requests` table the append path checks, ``RequestRecord``) and the
/// request projection against a state machine written here from SPEC §2, §4 and §7, not from
/// `RequestRecord.apply`: seeded requests opened (some back-dated), extended (valid, at the
/// 60-day limit, past it, not later, twice), completed, rejected (of the right and the wrong
/// kind, by the right and the wrong subject, when closed already, unknown), and erasures that
/// close an erasure request. An illegal step is refused with the contract's code and changes
/// nothing; deadlines equal the model's; as-of queries at random past times equal the model then.
struct RequestRecordModelTests {
    static let day: Int64 = 86_400_000

    struct Request: Equatable {
        var id: String
        var kind: RequestKind
        var externalId: String
        var pseudonym: String
        var openSeq: UInt64
        var openedAt: Timestamp
        var originalDueAt: Timestamp
        var dueAt: Timestamp
        var extended = false
        var status = "open"
        var closedAt: Timestamp?

        func isOverdue(at time: Timestamp) -> Bool { status == "open" && time > dueAt }
    }

    struct Model {
        var requests: [String: Request] = [:]
        /// External id → pseudonym ("new:<id>" until the append that creates it answers).
        var live: [String: String] = [:]
        var head: UInt64 = 0
        var recordedAt: Timestamp?
        /// The requests after each commit, by its recordedAt.
        var history: [(recordedAt: Timestamp, requests: [String: Request])] = []

        /// The requests as the ledger knew them at `time`.
        func requests(asOf time: Timestamp) -> [String: Request] {
            history.last { $0.recordedAt <= time }?.requests ?? [:]
        }
    }

    /// One step of the model: applies `event` at `recordedAt` (as line `seq`) or names the code
    /// the contract refuses it with.
    static func apply(
        _ event: ModelEvent,
        seq: UInt64,
        recordedAt: Timestamp,
        to model: inout Model
    )
        -> LedgerError.Code?
    {
        let type = EventType(rawValue: event.string("type") ?? "")
        let externalId = event.string("subject") ?? ""
        let occurredAt = event.string("occurredAt").flatMap { Timestamp(rfc3339: $0) } ?? recordedAt
        let expiresAt = event.string("expiresAt").flatMap { Timestamp(rfc3339: $0) }
        if let expiresAt, expiresAt <= occurredAt { return .invalidField }
        let pseudonym = model.live[externalId]
        guard let type else { return .unknownType }
        if let kind = type.opensRequest {
            let id = event.string("eventId") ?? ""
            let due = Timestamp(milliseconds: occurredAt.milliseconds + 30 * day)
            model.requests[id] = Request(
                id: id,
                kind: kind,
                externalId: externalId,
                pseudonym: pseudonym ?? "new:\(externalId)",
                openSeq: seq,
                openedAt: occurredAt,
                originalDueAt: due,
                dueAt: due
            )
            model.live[externalId] = pseudonym ?? "new:\(externalId)"
            return nil
        }
        let id = event.string("requestId") ?? ""
        guard let pseudonym, var request = model.requests[id], request.pseudonym == pseudonym,
            request.status == "open"
        else { return .requestNotOpen }
        if type == .requestExtended {
            guard !request.extended, let expiresAt, expiresAt > request.dueAt,
                expiresAt.milliseconds <= request.originalDueAt.milliseconds + 60 * day
            else { return .invalidField }
            request.dueAt = expiresAt
            request.extended = true
        } else {
            guard type.closesRequest == request.kind else { return .requestNotOpen }
            request.status = type.rawValue.hasSuffix(".completed") ? "completed" : "rejected"
            request.closedAt = occurredAt
        }
        model.requests[id] = request
        return nil
    }

    struct Generator {
        var random: SplitMix64
        let pool: Int

        mutating func externalId() -> String { "req-\(random.below(pool))@example.no" }

        /// A step, legal or not, against the requests the model knows.
        mutating func event(_ model: Model, now: Timestamp) -> ModelEvent {
            let known = model.requests.values.sorted { $0.id < $1.id }
            let open = known.filter { $0.status == "open" }
            let roll = random.below(100)
            if roll < 30 || known.isEmpty {
                var fields = [("eventId", random.uuid())]
                if random.chance(40) {
                    fields.append(("occurredAt", now.adding(minutes: -random.below(60 * 24 * 40)).rfc3339))
                }
                let type = random.pick(["access.requested", "correction.requested", "erasure.requested"]) ?? ""
                return ModelEvent(type, subject: externalId(), fields)
            }
            let target = (random.chance(75) ? random.pick(open) : nil) ?? random.pick(known)
            guard let target else {
                return ModelEvent("access.requested", subject: externalId(), [("eventId", random.uuid())])
            }
            let subject = random.chance(90) ? target.externalId : externalId()
            if roll < 55 {
                let limit = target.originalDueAt.milliseconds + 60 * day
                let expires: Int64
                switch random.below(7) {
                case 0: expires = limit
                case 1: expires = limit + 1
                case 2: expires = target.dueAt.milliseconds
                case 3: expires = target.dueAt.milliseconds - Int64(random.below(Int(day)))
                default:
                    expires =
                        target.dueAt.milliseconds + 1
                        + Int64(random.below(Int(max(limit - target.dueAt.milliseconds, 1))))
                }
                return ModelEvent(
                    "request.extended",
                    subject: subject,
                    [("requestId", target.id), ("expiresAt", Timestamp(milliseconds: expires).rfc3339)]
                )
            }
            if roll < 60 {
                return ModelEvent("access.completed", subject: subject, [("requestId", random.uuid())])
            }
            var kind = target.kind
            if random.chance(15) { kind = random.pick(RequestKind.allCases) ?? kind }
            var outcome = random.chance(50) ? "completed" : "rejected"
            if kind == .erasure { outcome = "rejected" }  // erasure.completed is the ledger's own
            var fields = [("requestId", target.id)]
            if random.chance(30) {
                fields.append(("occurredAt", now.adding(minutes: -random.below(60 * 24 * 3)).rfc3339))
            }
            return ModelEvent("\(kind.rawValue).\(outcome)", subject: subject, fields)
        }
    }

    static func check(_ ledger: Ledger, _ model: Model, random: inout SplitMix64, context: String) throws {
        #expect(try ledger.head().seq == model.head, "\(context): head")
        let stored = try ledger.storedRequests()
        #expect(stored.count == model.requests.count, "\(context): request records")
        for request in model.requests.values {
            let want = StoredRequest(
                requestId: request.id,
                kind: request.kind,
                pseudonym: request.pseudonym,
                openedAt: request.openedAt,
                dueAt: request.dueAt,
                status: request.status,
                closedAt: request.closedAt,
                openSeq: request.openSeq,
                originalDueAt: request.originalDueAt,
                extended: request.extended
            )
            #expect(stored[request.id] == want, "\(context): the record of \(request.id)")
        }
        var times = [ledger.options.clock.now()]
        for _ in 0..<3 {
            if let commit = random.pick(model.history), random.chance(70) {
                times.append(Timestamp(milliseconds: commit.recordedAt.milliseconds + Int64(random.inRange(-1...1))))
            } else if let first = model.history.first {
                let span = max(1, times[0].milliseconds - first.recordedAt.milliseconds + 2 * day)
                times.append(
                    Timestamp(milliseconds: first.recordedAt.milliseconds - day + Int64(random.below(Int(span))))
                )
            }
        }
        for time in times {
            let projection = try ledger.projection(asOf: time)
            let want = model.requests(asOf: time)
            #expect(projection.requests.count == want.count, "\(context): requests as of \(time.rfc3339)")
            for request in want.values {
                let expected = RequestProjection(
                    requestId: request.id,
                    kind: request.kind,
                    pseudonym: request.pseudonym,
                    openedAt: request.openedAt,
                    dueAt: request.dueAt,
                    status: RequestProjection.Status(rawValue: request.status) ?? .open,
                    closedAt: request.closedAt
                )
                #expect(projection.requests[request.id] == expected, "\(context): \(request.id) as of \(time.rfc3339)")
            }
            let overdue = want.values.filter { $0.isOverdue(at: time) }
                .sorted { ($0.openedAt, $0.id) < ($1.openedAt, $1.id) }.map(\.id)
            #expect(
                projection.requests(at: time, filter: .overdue).map(\.requestId) == overdue,
                "\(context): overdue as of \(time.rfc3339)"
            )
        }
    }

    func run(seed: UInt64, pool: Int, rounds: Int) throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock()
        let ledger = try Fixture.ledger(in: directory, options: Fixture.options(clock: clock, seed: "requests-\(seed)"))
        var generator = Generator(random: SplitMix64(seed: seed), pool: pool)
        var checks = SplitMix64(seed: seed ^ 0x5EED)
        var model = Model()
        var refusals: [LedgerError.Code: Int] = [:]
        for round in 0..<rounds {
            let context = "seed \(seed), round \(round)"
            clock.advance(milliseconds: Int64(generator.random.below(Int(3 * Self.day))))
            let now = clock.now()
            let recordedAt = max(now, model.recordedAt ?? now)
            if generator.random.chance(8),
                let externalId = generator.random.chance(75)
                    ? generator.random.pick(model.live.keys.sorted()) : "req-unknown@example.no"
            {
                // An erasure, closing one of the subject's erasure requests (or a wrong one, or
                // none), or of a subject the ledger does not know.
                let pseudonym = model.live[externalId]
                let candidates = model.requests.values.filter { $0.kind == .erasure }.map(\.id).sorted()
                let requestId = generator.random.chance(70) ? generator.random.pick(candidates) : nil
                var expected: LedgerError.Code?
                if pseudonym == nil {
                    expected = .subjectNotFound
                } else if let requestId {
                    let request = model.requests[requestId]
                    if request?.pseudonym != pseudonym || request?.status != "open" { expected = .requestNotOpen }
                }
                let error = ledgerError {
                    _ = try ledger.erase(subject: externalId, requestId: requestId, actor: "privacy-office")
                }
                #expect(error?.code == expected, "\(context): erasure \(String(describing: error))")
                if let expected {
                    refusals[expected, default: 0] += 1
                } else {
                    model.head += 1
                    model.recordedAt = recordedAt
                    if let requestId {
                        model.requests[requestId]?.status = "completed"
                        model.requests[requestId]?.closedAt = recordedAt
                    }
                    model.live[externalId] = nil
                    model.history.append((recordedAt, model.requests))
                }
                try Self.check(ledger, model, random: &checks, context: context)
                continue
            }
            // A batch of one to four steps; each line sees the ones before it.
            var working = model
            var lines: [ModelEvent] = []
            var refusal: (code: LedgerError.Code, line: Int)?
            for _ in 0..<(generator.random.chance(70) ? 1 : generator.random.inRange(2...4)) {
                let event = generator.event(working, now: now)
                lines.append(event)
                if refusal == nil,
                    let code = Self.apply(event, seq: working.head + 1, recordedAt: recordedAt, to: &working)
                {
                    refusal = (code, lines.count)
                }
                if refusal == nil { working.head += 1 }
            }
            let events = try lines.map { try $0.decoded() }
            if let refusal {
                let error = ledgerError { _ = try ledger.append(events, actor: "requests") }
                #expect(
                    error?.code == refusal.code && error?.line == refusal.line,
                    "\(context): \(lines.map(\.json)) → \(String(describing: error)), want \(refusal)"
                )
                refusals[refusal.code, default: 0] += 1
            } else {
                let results = try ledger.append(events, actor: "requests")
                working.recordedAt = recordedAt
                // Pseudonyms of subjects this batch created are known now.
                for (result, line) in zip(results, lines) {
                    let externalId = line.string("subject") ?? ""
                    let placeholder = "new:\(externalId)"
                    if working.live[externalId] == placeholder { working.live[externalId] = result.subject }
                    for (id, request) in working.requests where request.pseudonym == placeholder {
                        working.requests[id]?.pseudonym = result.subject
                    }
                    #expect(working.live[externalId] == result.subject, "\(context): the subject")
                    if let id = line.string("eventId"), line.string("type")?.hasSuffix(".requested") == true {
                        #expect(
                            result.requestId == id && result.dueAt == working.requests[id]?.originalDueAt,
                            "\(context): the answer names the request and its due date"
                        )
                    }
                }
                working.history.append((recordedAt, working.requests))
                model = working
            }
            try Self.check(ledger, model, random: &checks, context: context)
        }
        // The run reached every kind of refusal and both ends of a request.
        for code in [LedgerError.Code.requestNotOpen, .invalidField, .subjectNotFound] {
            #expect(refusals[code] ?? 0 > 0, "seed \(seed) never refused with \(code.rawValue): \(refusals)")
        }
        let statuses = Set(model.requests.values.map(\.status))
        #expect(statuses == ["open", "completed", "rejected"], "seed \(seed)")
        #expect(model.requests.values.contains { $0.extended }, "seed \(seed)")
    }

    @Test(arguments: ModelSeeds.all)
    func oneHotSubjectsRequestsMatchTheModel(seed: UInt64) throws {
        try run(seed: seed, pool: 1, rounds: 250)
    }

    @Test(arguments: ModelSeeds.all)
    func manySubjectsRequestsMatchTheModel(seed: UInt64) throws {
        try run(seed: seed, pool: 40, rounds: 250)
    }

    @Test func aClientCannotCompleteAnErasure() throws {
        let id = "d0000000-0000-4000-8000-000000000001"
        #expect(
            errorCode {
                _ = try Fixture.event(#"{"type":"erasure.completed","subject":"x","requestId":"\#(id)"}"#)
            } == .forbidden
        )
    }
}
