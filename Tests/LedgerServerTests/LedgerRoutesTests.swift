import Foundation
import HummingbirdTesting
import Ledger
import Projections
import Testing

@testable import LedgerServer

/// The routes of SPEC §7 driven in process through Hummingbird's router test client, appends
/// going through the group-commit writer; what they append is read back through the Ledger API.
struct LedgerRoutesTests {
    @Test func appendingOneEventAnswers201WithItsReceipt() async throws {
        let store = try TestLedger()
        let id = Events.eventId(1)
        let reply = try await store.server().makeApplication().test(.router) { client in
            try await client.call(.post, "/v1/events", Events.grant("alice@example.com", eventId: id))
        }
        #expect(reply.status == 201)
        #expect(reply.headers[.contentType] == "application/json")
        #expect(reply.text.hasSuffix("}\n"))
        let json = try #require(reply.json)
        #expect(json.keys.sorted() == ["eventId", "hash", "recordedAt", "seq", "subject"])
        #expect(json["seq"] as? Int == 1)
        #expect(json["eventId"] as? String == id)
        // The subject answered is the pseudonym, never the external id.
        #expect(json["subject"] as? String != "alice@example.com")
        let events = try store.events()
        #expect(events.count == 1)
        #expect(events.first?.eventId == id)
        #expect(events.first?.hashHex == json["hash"] as? String)
        #expect(events.first?.subject == json["subject"] as? String)
    }

    @Test func anNDJSONBatchAppendsEveryLineInOrder() async throws {
        let store = try TestLedger()
        let batch = [
            Events.grant("bob@example.com"), Events.grant("bob@example.com", purpose: "web-analytics"),
            Events.accessRequest("bob@example.com", eventId: Events.eventId(7)),
        ]
        let reply = try await store.server().makeApplication().test(.router) { client in
            try await client.call(
                .post,
                "/v1/events",
                batch.joined(separator: "\n") + "\n",
                contentType: "application/x-ndjson; charset=utf-8"
            )
        }
        #expect(reply.status == 201)
        let answered = try #require(reply.json?["events"] as? [[String: Any]])
        #expect(answered.map { $0["seq"] as? Int } == [1, 2, 3])
        #expect(answered[2]["requestId"] as? String == Events.eventId(7))
        #expect(answered[2]["dueAt"] is String)
        let events = try store.events()
        #expect(events.map(\.type) == [.consentGranted, .consentGranted, .accessRequested])
        #expect(events.map(\.eventId) == answered.map { $0["eventId"] as? String })
    }

    @Test func badJSONIsRefused400WithItsCodeAndAppendsNothing() async throws {
        let store = try TestLedger()
        try await store.server().makeApplication().test(.router) { client in
            let refused = try await client.call(.post, "/v1/events", "{oops")
            #expect(refused.status == 400)
            #expect(refused.errorCode == "invalid_json")
            #expect(refused.errorLine == nil)
            let badLine = [Events.grant("carol@example.com"), #"{"type":"access.requested","#].joined(separator: "\n")
            let batch = try await client.call(.post, "/v1/events", badLine, contentType: "application/x-ndjson")
            #expect(batch.status == 400)
            #expect(batch.errorCode == "invalid_json")
            #expect(batch.errorLine == 2)
            let head = try await client.call(.get, "/v1/head")
            #expect(head.json?["seq"] as? Int == 0)
        }
        #expect(try store.events().isEmpty)
    }

    @Test func anUnknownPurposeIsRefused422AndAppendsNothing() async throws {
        let store = try TestLedger()
        let reply = try await store.server().makeApplication().test(.router) { client in
            try await client.call(.post, "/v1/events", Events.grant("dave@example.com", purpose: "telepathy"))
        }
        #expect(reply.status == 422)
        #expect(reply.errorCode == "unknown_purpose")
        #expect(reply.headers[.contentType] == "application/json")
        #expect(try store.events().isEmpty)
    }

    @Test func aRetryWithTheSameEventIdGetsTheOriginalsAnswer() async throws {
        let store = try TestLedger()
        let id = Events.eventId(2)
        let event = Events.grant("erin@example.com", eventId: id)
        try await store.server().makeApplication().test(.router) { client in
            let first = try await client.call(.post, "/v1/events", event)
            let retry = try await client.call(.post, "/v1/events", event)
            #expect(first.status == 201)
            #expect(retry.status == 200)
            #expect(retry.text == first.text)
            let conflicting = try await client.call(
                .post,
                "/v1/events",
                #"{"type":"consent.withdrawn","subject":"erin@example.com","purpose":"newsletter","eventId":"\#(id)"}"#
            )
            #expect(conflicting.status == 409)
            #expect(conflicting.errorCode == "event_id_conflict")
        }
        #expect(try store.events().map(\.eventId) == [id])
    }

    /// An erasure retried while the first is unfinished (its event is in the log, its key not yet
    /// overwritten): naming another request than the one it closed is 422 `request_not_open` and
    /// appends nothing; naming the same one is 200 with the first erasure's answer.
    @Test func aRetriedErasureNamingAnotherRequestIsRefused422() async throws {
        let store = try TestLedger()
        let (first, second) = (Events.eventId(31), Events.eventId(32))
        try await store.server().makeApplication().test(.router) { client in
            for id in [first, second] {
                let opened = try await client.call(
                    .post,
                    "/v1/events",
                    #"{"type":"erasure.requested","subject":"fay@example.com","eventId":"\#(id)"}"#
                )
                #expect(opened.status == 201)
            }
            let recorded = try store.ledger.recordErasure(subject: "fay@example.com", requestId: first, actor: "t")
            let other = try await client.call(
                .post,
                "/v1/subjects/erase",
                #"{"subject":"fay@example.com","requestId":"\#(second)"}"#
            )
            #expect(other.status == 422)
            #expect(other.errorCode == "request_not_open")
            let same = try await client.call(
                .post,
                "/v1/subjects/erase",
                #"{"subject":"fay@example.com","requestId":"\#(first)"}"#
            )
            #expect(same.status == 200)
            #expect(same.json?["seq"] as? Int == Int(recorded.result.seq))
            #expect(same.json?["pseudonym"] as? String == recorded.result.pseudonym)
        }
        #expect(try store.events().count == 3)
        #expect(try store.ledger.storedRequests()[second]?.status == "open")
    }

    @Test func twoHundredConcurrentAppendsAreAllAcknowledgedWithDistinctSeqs() async throws {
        let store = try TestLedger()
        let count = 200
        let replies = try await store.server().makeApplication().test(.router) { client in
            try await withThrowingTaskGroup(of: (Int, Reply).self) { group in
                for n in 1...count {
                    group.addTask {
                        (
                            n,
                            try await client.call(
                                .post,
                                "/v1/events",
                                Events.accessRequest("s\(n)", eventId: Events.eventId(n))
                            )
                        )
                    }
                }
                var replies: [Int: Reply] = [:]
                for try await (n, reply) in group { replies[n] = reply }
                return replies
            }
        }
        #expect(replies.count == count)
        #expect(replies.values.allSatisfy { $0.status == 201 })
        let seqs = replies.values.compactMap { $0.json?["seq"] as? Int }
        #expect(Set(seqs) == Set(1...count))
        for (n, reply) in replies { #expect(reply.json?["eventId"] as? String == Events.eventId(n)) }
        let events = try store.events()
        #expect(events.map(\.seq) == (1...count).map(UInt64.init))
        #expect(Set(events.map(\.eventId)) == Set((1...count).map(Events.eventId)))
    }

    @Test func refusedAppendsAmongConcurrentOnesFailAlone() async throws {
        let store = try TestLedger()
        let count = 100
        // Every fifth call closes a request that was never opened: refused inside its commit round.
        let body: @Sendable (Int) -> String = { n in
            n % 5 == 0
                ? #"{"type":"access.completed","subject":"s\#(n)","requestId":"\#(Events.eventId(9_000 + n))"}"#
                : Events.accessRequest("s\(n)", eventId: Events.eventId(n))
        }
        let replies = try await store.server().makeApplication().test(.router) { client in
            try await withThrowingTaskGroup(of: (Int, Reply).self) { group in
                for n in 1...count { group.addTask { (n, try await client.call(.post, "/v1/events", body(n))) } }
                var replies: [Int: Reply] = [:]
                for try await (n, reply) in group { replies[n] = reply }
                return replies
            }
        }
        for (n, reply) in replies {
            if n % 5 == 0 {
                #expect(reply.status == 422 && reply.errorCode == "request_not_open", "call \(n)")
            } else {
                #expect(reply.status == 201, "call \(n)")
            }
        }
        let accepted = (1...count).filter { $0 % 5 != 0 }
        let events = try store.events()
        #expect(events.map(\.seq) == (1...accepted.count).map(UInt64.init))
        #expect(Set(events.map(\.eventId)) == Set(accepted.map(Events.eventId)))
    }

    @Test func readsAnswerWhatWasAppended() async throws {
        let store = try TestLedger()
        let request = Events.eventId(3)
        try await store.server().makeApplication().test(.router) { client in
            let batch = [
                Events.grant("frank@example.com"), Events.accessRequest("frank@example.com", eventId: request),
                #"{"type":"access.completed","subject":"frank@example.com","requestId":"\#(request)"}"#,
            ]
            let appended = try await client.call(
                .post,
                "/v1/events",
                batch.joined(separator: "\n"),
                contentType: "application/x-ndjson"
            )
            #expect(appended.status == 201)

            let consents = try await client.call(.post, "/v1/consents/query", #"{"subject":"frank@example.com"}"#)
            #expect(consents.status == 200)
            #expect(consents.json?["subject"] as? String == "frank@example.com")
            let listed = consents.json?["consents"] as? [[String: Any]]
            #expect(listed?.map { $0["purpose"] as? String } == ["newsletter"])
            #expect(listed?.first?["status"] as? String == "granted")

            let history = try await client.call(.post, "/v1/subjects/history", #"{"subject":"frank@example.com"}"#)
            let events = history.json?["events"] as? [[String: Any]]
            #expect(events?.map { $0["seq"] as? Int } == [1, 2, 3])
            #expect(
                events?.map { $0["type"] as? String } == ["consent.granted", "access.requested", "access.completed"]
            )
            #expect(events?.allSatisfy { $0["erased"] as? Bool == false } == true)

            let open = try await client.call(.get, "/v1/requests")
            #expect((open.json?["requests"] as? [Any])?.isEmpty == true)
            let all = try await client.call(.get, "/v1/requests?status=all")
            let requests = all.json?["requests"] as? [[String: Any]]
            #expect(requests?.map { $0["requestId"] as? String } == [request])
            #expect(requests?.first?["status"] as? String == "completed")

            let log = try await client.call(.get, "/v1/log?after=1&limit=5")
            #expect(log.status == 200)
            #expect(log.headers[.contentType] == "application/x-ndjson")
            let exported = try store.events().dropFirst().map { $0.exportRecord.serialized + "\n" }.joined()
            #expect(log.text == exported)

            let head = try await client.call(.get, "/v1/head")
            #expect(head.json?["seq"] as? Int == 3)
            #expect(head.json?["hash"] as? String == (try store.events().last?.hashHex))

            let unknown = try await client.call(.post, "/v1/consents/query", #"{"subject":"nobody@example.com"}"#)
            #expect(unknown.status == 404 && unknown.errorCode == "subject_not_found")
            let metrics = try await client.call(.get, "/metrics")
            #expect(metric("ledger_appended_events_total", in: metrics.text) == 3)
        }
    }

    /// A subject's consents are read on the request thread up to `inlineSubjectEvents` events and
    /// on the thread pool beyond: the answer is the same either way, and is the fold of every
    /// event (the last decision per purpose), as of now and as of a time between them.
    @Test(arguments: [LedgerRoutes.inlineSubjectEvents, LedgerRoutes.inlineSubjectEvents + 1, 1_500])
    func aSubjectsConsentsAreTheSameOnEitherSideOfTheInlineLimit(events count: Int) async throws {
        let store = try TestLedger()
        try await store.server().makeApplication().test(.router) { client in
            // Grants and withdrawals in turn on two purposes: the last one decides each.
            let lines = (0..<count).map { n in
                let purpose = n % 2 == 0 ? "newsletter" : "surveys"
                return n % 4 < 2
                    ? Events.grant("busy@example.com", purpose: purpose)
                    : #"{"type":"consent.withdrawn","subject":"busy@example.com","purpose":"\#(purpose)"}"#
            }
            for chunk in stride(from: 0, to: lines.count, by: 500) {
                let body = lines[chunk..<min(chunk + 500, lines.count)].joined(separator: "\n")
                let appended = try await client.call(.post, "/v1/events", body, contentType: "application/x-ndjson")
                #expect(appended.status == 201)
            }
            let answer = try await client.call(.post, "/v1/consents/query", #"{"subject":"busy@example.com"}"#)
            #expect(answer.status == 200)
            let consents = (answer.json?["consents"] as? [[String: Any]]) ?? []
            let status = { (n: Int) in n % 4 < 2 ? "granted" : "withdrawn" }
            // The last event of each purpose: count - 1 or count - 2, whichever has its parity.
            let lastNewsletter = (count - 1) % 2 == 0 ? count - 1 : count - 2
            let lastSurveys = (count - 1) % 2 == 1 ? count - 1 : count - 2
            #expect(consents.map { $0["purpose"] as? String } == ["newsletter", "surveys"])
            #expect(consents.map { $0["status"] as? String } == [status(lastNewsletter), status(lastSurveys)])
            #expect(consents.map { $0["seq"] as? Int } == [lastNewsletter + 1, lastSurveys + 1])
        }
    }

    @Test func aReceiptIsAnsweredToReadersAndBadRequestsGetStableCodes() async throws {
        let store = try TestLedger()
        try store.ledger.ensureSigningKey()
        try await store.server().makeApplication().test(.router) { client in
            #expect(try await client.call(.post, "/v1/events", Events.grant("rita@example.com")).status == 201)
            let reply = try await client.call(
                .post,
                "/v1/receipts",
                #"{"subject":"rita@example.com","purpose":"newsletter"}"#
            )
            #expect(reply.status == 200)
            #expect(reply.json?["kind"] as? String == "consent-receipt")
            #expect(!reply.text.contains("rita@example.com"))
            #expect(ConsentReceipt.failure(ofJSON: Array(reply.text.utf8)) == nil)
            let record = reply.json?["record"] as? [String: Any]
            #expect((record?["event"] as? [String: Any])?["event_state"] as? String == "ConsentGiven")
            let refused: [(String, String)] = [
                (#"{"subject":"nobody@example.com","purpose":"newsletter"}"#, "subject_not_found"),
                (#"{"subject":"rita@example.com","purpose":"no-such"}"#, "unknown_purpose"),
                (#"{"subject":"rita@example.com","purpose":"surveys"}"#, "not_found"),
                (#"{"subject":"rita@example.com","purpose":"newsletter","asOf":"soon"}"#, "invalid_field"),
                (#"{"subject":"rita@example.com"}"#, "missing_field"),
                (#"{"purpose":"newsletter"}"#, "missing_field"),
                (#"{"subject":"rita@example.com","purpose":"newsletter","extra":1}"#, "unknown_field"),
            ]
            for (body, code) in refused {
                let answer = try await client.call(.post, "/v1/receipts", body)
                #expect(answer.errorCode == code, "\(body): \(answer.text)")
                #expect(!answer.text.contains("@example.com"))
            }
        }
    }

    /// `POST /v1/consents/records`: the subject's 27560 records as JSON-LD, as `state --format dpv`.
    @Test func aSubjectsConsentRecordsAreAnsweredAsJSONLD() async throws {
        let store = try TestLedger()
        try await store.server().makeApplication().test(.router) { client in
            #expect(try await client.call(.post, "/v1/events", Events.grant("rita@example.com")).status == 201)
            let reply = try await client.call(.post, "/v1/consents/records", #"{"subject":"rita@example.com"}"#)
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.json?["@context"] != nil && !reply.text.contains("rita@example.com"))
            let records = reply.json?["record"] as? [[String: Any]]
            #expect(records?.count == 1)
            #expect((records?.first?["event"] as? [String: Any])?["event_state"] as? String == "ConsentGiven")
            let refused: [(String, String)] = [
                (#"{"subject":"nobody@example.com"}"#, "subject_not_found"),
                (#"{"subject":"rita@example.com","purpose":"no-such"}"#, "unknown_purpose"),
                (#"{"subject":"rita@example.com","asOf":"soon"}"#, "invalid_field"),
                (#"{}"#, "missing_field"),
                (#"{"subject":"rita@example.com","extra":1}"#, "unknown_field"),
            ]
            for (body, code) in refused {
                let answer = try await client.call(.post, "/v1/consents/records", body)
                #expect(answer.errorCode == code, "\(body): \(answer.text)")
                #expect(!answer.text.contains("@example.com"))
            }
        }
    }

    @Test func anUnknownCallIs404AndAWrongMethod405() async throws {
        let store = try TestLedger()
        try await store.server().makeApplication().test(.router) { client in
            let nowhere = try await client.call(.get, "/v1/nowhere")
            #expect(nowhere.status == 404 && nowhere.errorCode == "not_found")
            let wrongMethod = try await client.call(.delete, "/v1/head")
            #expect(wrongMethod.status == 405 && wrongMethod.errorCode == "method_not_allowed")
            let healthy = try await client.call(.get, "/healthz")
            #expect(healthy.status == 200 && healthy.json?["status"] as? String == "ok")
        }
    }

    @Test func aCallerWithoutARoleIsRefused403AndAppendsNothing() async throws {
        let store = try TestLedger()
        // Not root and not this process's user: without a `clients` section, no role at all.
        let stranger: UInt32 = getuid() == 54_321 ? 54_322 : 54_321
        try await store.server(uid: stranger).makeApplication().test(.router) { client in
            let append = try await client.call(.post, "/v1/events", Events.grant("gina@example.com"))
            #expect(append.status == 403 && append.errorCode == "forbidden")
            let read = try await client.call(.get, "/v1/head")
            #expect(read.status == 403 && read.errorCode == "forbidden")
        }
        #expect(try store.events().isEmpty)
    }
}
