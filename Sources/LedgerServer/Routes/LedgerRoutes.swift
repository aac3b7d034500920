import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import NIOCore
import NIOPosix
import Projections

/// Every call of SPEC §7, mapped onto the ledger. No domain logic lives here: requests are
/// decoded, authorised by peer credentials, handed to the ledger (appends and erasures through
/// the group-commit writer), and answered; errors become SPEC §7 error objects at this edge.
struct LedgerRoutes: Sendable {
    let ledger: Ledger
    let writer: GroupCommitWriter
    let metrics: ServerMetrics
    /// The uid let in with every role when the catalogue has no `clients` section.
    let trustedUID: UInt32
    /// Where each caller's credentials come from.
    let identification: PeerIdentification
    /// Each connection's peer credentials, read once per connection.
    let peers = PeerCredentialCache()

    static let maxBody = 1 << 20

    func register(on router: Router<LedgerRequestContext>) {
        router.add(middleware: ErrorMiddleware(metrics: metrics))
        route(router, "/v1/events", .post) { try await appendEvents($0, $1) }
        route(router, "/v1/consents/query", .post) { try await queryConsents($0, $1) }
        route(router, "/v1/consents/records", .post) { try await consentRecords($0, $1) }
        route(router, "/v1/subjects/history", .post) { try await history($0, $1) }
        route(router, "/v1/receipts", .post) { try await receipt($0, $1) }
        route(router, "/v1/subjects/erase", .post) { try await erase($0, $1) }
        route(router, "/v1/keys/compact", .post) { try await compact($0, $1) }
        route(router, "/v1/requests", .get) { try await requests($0, $1) }
        route(router, "/v1/purposes", .get) { try await purposes($0, $1) }
        route(router, "/v1/head", .get) { try await head($0, $1) }
        route(router, "/v1/checkpoint", .get) { try await checkpoint($0, $1) }
        route(router, "/checkpoint", .get) { try await checkpointNote($0, $1) }
        route(router, "/v1/checkpoint/cosignatures", .post) { try await addCosignatures($0, $1) }
        route(router, "/tile/**", .get) { try await tile($0, $1) }
        route(router, "/records/**", .get) { try await tile($0, $1) }
        route(router, "/v1/log", .get) { try await log($0, $1) }
        route(router, "/v1/proofs/inclusion", .get) { try await inclusionProof($0, $1) }
        route(router, "/v1/proofs/consistency", .get) { try await consistencyProof($0, $1) }
        route(router, "/healthz", .get) { _, _ in JSONResponse.make(.object([("status", .string("ok"))])) }
        route(router, "/metrics", .get) { try await metricsText($0, $1) }
    }

    /// Registers `handler` for `method` and 405 `method_not_allowed` for every other method.
    private func route(
        _ router: Router<LedgerRequestContext>,
        _ path: RouterPath,
        _ method: HTTPRequest.Method,
        _ handler: @escaping @Sendable (Request, LedgerRequestContext) async throws -> Response
    ) {
        router.on(path, method: method, use: handler)
        for other in [HTTPRequest.Method.get, .post, .put, .delete, .patch] where other != method {
            router.on(path, method: other) { _, _ -> Response in
                throw LedgerError(.methodNotAllowed, "\(path) takes \(method.rawValue) only")
            }
        }
    }

    // MARK: Helpers

    /// Lets through a caller with the `audit` role or the `read` role (what auditors' routes take).
    private func requireAuditOrRead(_ context: LedgerRequestContext) async throws {
        let who = try await caller(context)
        if !who.roles.contains(.audit) { try who.require(.read) }
    }

    private func caller(_ context: LedgerRequestContext) async throws -> CallerIdentity {
        try await callerAndCatalogue(context).caller
    }

    /// The caller, and the catalogue that named it. The catalogue is read inline: an LMDB read
    /// transaction never waits for the writer, and the parsed catalogue is cached by generation.
    private func callerAndCatalogue(
        _ context: LedgerRequestContext
    ) async throws -> (caller: CallerIdentity, catalogue: Catalogue) {
        guard let peer = await peer(of: context) else {
            throw LedgerError(.forbidden, "the peer's credentials cannot be read")
        }
        let catalogue = try ledger.catalogue()
        return (
            CallerIdentity.resolve(uid: peer.uid, gid: peer.gid, catalogue: catalogue, trustedUID: trustedUID),
            catalogue
        )
    }

    /// The credentials of the request's caller; `nil` when its connection cannot tell.
    private func peer(of context: LedgerRequestContext) async -> PeerCredentials? {
        switch identification {
        case .socketCredentials: return await peers.credentials(of: context.channel)
        case .fixed(let credentials): return credentials
        }
    }

    /// Runs blocking ledger work off the cooperative pool.
    /// The most events of one subject a query reads on its request thread.
    static let inlineSubjectEvents = 256

    private func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }

    private func body(_ request: Request) async throws -> [UInt8] {
        let buffer = try await request.body.collect(upTo: Self.maxBody)
        return Array(buffer.readableBytesView)
    }

    /// A JSON object body with only `allowed` keys.
    private func object(_ request: Request, allowed: Set<String>) async throws -> JSONValue {
        let bytes = try await body(request)
        guard let object = JSONValue.parse(bytes), let members = object.objectMembers else {
            throw LedgerError(.invalidJSON, "the body must be a JSON object")
        }
        if let unknown = members.map(\.0).filter({ !allowed.contains($0) }).sorted().first {
            throw LedgerError(.unknownField, "unknown field \(String(unknown.prefix(64)).debugDescription)")
        }
        return object
    }

    private func string(_ object: JSONValue, _ key: String) throws -> String? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let text = value.stringValue else { throw LedgerError(.invalidField, "\(key) must be a string") }
        return text.isEmpty ? nil : text
    }

    private func time(_ text: String?, _ name: String) throws -> Timestamp {
        guard let text else { return SystemClock().now() }
        guard let time = Timestamp(rfc3339: text) else {
            throw LedgerError(.invalidField, "\(name) must be an RFC 3339 date-time")
        }
        return time
    }

    // MARK: Appends

    private func appendEvents(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        let (who, catalogue) = try await callerAndCatalogue(context)
        try who.require(.append)
        guard let mediaType = AppendMediaType(contentType: request.headers[.contentType]) else {
            throw LedgerError(.invalidJSON, "Content-Type must be application/json or application/x-ndjson")
        }
        let isBatch = mediaType == .batch
        let bytes = try await body(request)
        var batch = NDJSONBatch()
        do {
            let events: [ClientEvent]
            if isBatch {
                batch = try NDJSONBatch.decode(body: bytes, catalogue: catalogue) { try who.checkAppend($0) }
                events = batch.events
            } else {
                let event = try ClientEvent.decode(json: bytes, catalogue: catalogue)
                try who.checkAppend(event)
                events = [event]
            }
            let results = try await writer.append(try ledger.prepare(events), actor: who.actor)
            let fresh = results.contains { !$0.replayed }
            if isBatch {
                return JSONResponse.make(
                    .object([("events", .array(results.map(\.json)))]),
                    status: fresh ? .created : .ok
                )
            }
            return JSONResponse.make(results[0].json, status: fresh ? .created : .ok)
        } catch let error as LedgerError {
            return (isBatch ? batch.lineOf(error) : error).response(includeLine: isBatch)
        }
    }

    // MARK: Subjects

    private func queryConsents(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        try await caller(context).require(.read)
        let input = try await object(request, allowed: ["subject", "asOf"])
        guard let subject = try string(input, "subject") else {
            throw LedgerError(.missingField, "missing field subject")
        }
        try ClientEvent.checkExternalId(subject)
        let asOf = try time(try string(input, "asOf"), "asOf")
        // Read inline while the subject's events are few: an LMDB read never waits, and the hop to
        // the thread pool was about a fifth of the answer's time. A subject with more is read on
        // the thread pool, so that it holds no request thread for long.
        guard let pseudonym = try ledger.pseudonym(of: subject) else {
            throw LedgerError(.subjectNotFound, "no subject has this external id")
        }
        let rules = try ledger.projectionRules()
        let projection: SubjectProjection
        if let few = try ledger.subjectProjection(pseudonym: pseudonym, asOf: asOf, atMost: Self.inlineSubjectEvents) {
            projection = few
        } else {
            projection = try await blocking { try ledger.subjectProjection(pseudonym: pseudonym, asOf: asOf) }
        }
        return JSONResponse.make(
            .object([
                ("subject", .string(subject)), ("pseudonym", .string(pseudonym)), ("asOf", .string(asOf.rfc3339)),
                ("consents", .array(projection.consents(at: asOf, rules: rules).map(\.json))),
            ])
        )
    }

    /// The `subject` or `pseudonym` of a body that must give exactly one of them.
    private func subjectOrPseudonym(_ input: JSONValue) throws -> (subject: String?, pseudonym: String?) {
        let subject = try string(input, "subject")
        let pseudonym = try string(input, "pseudonym")
        guard (subject == nil) != (pseudonym == nil) else {
            throw LedgerError(
                subject == nil ? .missingField : .invalidField,
                "give exactly one of subject and pseudonym"
            )
        }
        if let subject { try ClientEvent.checkExternalId(subject) }
        return (subject, pseudonym)
    }

    /// The pseudonym `who` names: the pseudonym as given, or the subject's, resolved in the ledger.
    /// Blocking: call it inside ``blocking(_:)``.
    /// - Throws: `subject_not_found` when the external id does not resolve (or was erased).
    private func resolve(_ who: (subject: String?, pseudonym: String?)) throws -> String {
        guard let subject = who.subject else { return who.pseudonym ?? "" }
        guard let found = try ledger.pseudonym(of: subject) else {
            throw LedgerError(.subjectNotFound, "no subject has this external id")
        }
        return found
    }

    private func history(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        try await caller(context).require(.read)
        let input = try await object(request, allowed: ["subject", "pseudonym", "asOf"])
        let who = try subjectOrPseudonym(input)
        let asOf = try string(input, "asOf").map { try time($0, "asOf") }
        return try await blocking {
            let events = try ledger.history(pseudonym: try resolve(who), asOf: asOf)
            guard !events.isEmpty else { throw LedgerError(.subjectNotFound, "no events of this pseudonym") }
            return JSONResponse.make(.object([("events", .array(events.map(\.json)))]))
        }
    }

    /// `POST /v1/receipts {"subject" or "pseudonym", "purpose", "asOf"?}`: a consent receipt
    /// (``ConsentReceipt``; docs/RECEIPTS.md).
    /// `POST /v1/consents/records {"subject" | "pseudonym", "purpose"?, "asOf"?}`: the subject's
    /// ISO/IEC TS 27560 consent records as one JSON-LD document with the DPV context, as
    /// `ledgerctl state --format dpv` prints it (docs/RECEIPTS.md).
    private func consentRecords(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        try await caller(context).require(.read)
        let input = try await object(request, allowed: ["subject", "pseudonym", "purpose", "asOf"])
        let who = try subjectOrPseudonym(input)
        let purpose = try string(input, "purpose")
        let asOf = try time(try string(input, "asOf"), "asOf")
        let document = try await blocking {
            try ConsentRecord.jsonLD(ofSubject: try resolve(who), in: ledger, asOf: asOf, purpose: purpose)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "application/ld+json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: document.serialized))
        )
    }

    private func receipt(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        try await caller(context).require(.read)
        let input = try await object(request, allowed: ["subject", "pseudonym", "purpose", "asOf"])
        let who = try subjectOrPseudonym(input)
        guard let purpose = try string(input, "purpose") else {
            throw LedgerError(.missingField, "purpose is required")
        }
        let asOf = try time(try string(input, "asOf"), "asOf")
        return try await blocking {
            let receipt = try ConsentReceipt.make(
                ledger: ledger,
                pseudonym: try resolve(who),
                purposeId: purpose,
                asOf: asOf
            )
            return JSONResponse.make(receipt.json)
        }
    }

    private func erase(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        let who = try await caller(context)
        try who.require(.erase)
        let input = try await object(request, allowed: ["subject", "requestId"])
        guard let subject = try string(input, "subject") else {
            throw LedgerError(.missingField, "missing field subject")
        }
        let result = try await writer.erase(
            subject: subject,
            requestId: try string(input, "requestId"),
            actor: who.actor
        )
        return JSONResponse.make(result.json)
    }

    private func compact(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        try await caller(context).require(.erase)
        try await writer.compactKeyStore()
        return JSONResponse.make(.object([("compacted", .bool(true))]))
    }

    // MARK: Reads

    private func requests(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        try await caller(context).require(.read)
        let statusText = request.uri.queryParameters.get("status") ?? "open"
        guard let filter = RequestFilter(rawValue: statusText) else {
            throw LedgerError(.invalidField, "status must be open, overdue or all")
        }
        let asOf = try time(request.uri.queryParameters.get("asOf"), "asOf")
        return try await blocking {
            let requests = try ledger.projection(asOf: asOf).requests(at: asOf, filter: filter)
            return JSONResponse.make(.object([("requests", .array(requests.map { $0.json(at: asOf) }))]))
        }
    }

    private func purposes(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        try await caller(context).require(.read)
        let asOf = try time(request.uri.queryParameters.get("asOf"), "asOf")
        return try await blocking {
            let counts = try ledger.purposeCounts(asOf: asOf)
            return JSONResponse.make(.object([("purposes", .array(counts.map(\.json)))]))
        }
    }

    private func head(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        try await caller(context).require(.read)
        return JSONResponse.make(try await blocking { try ledger.head().json })
    }

    private func checkpoint(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        try await caller(context).require(.read)
        return JSONResponse.make(try await blocking { try ledger.checkpoint().json })
    }

    /// `GET /v1/proofs/inclusion?seq=S&treeSize=N` (or `leafHash=H` instead of `seq`): event S's
    /// RFC 9162 inclusion proof in the tree of the first N events (the head's without `treeSize`).
    private func inclusionProof(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        try await requireAuditOrRead(context)
        let parameters = request.uri.queryParameters
        let treeSize = try QueryNumber.optionalSeq(parameters.get("treeSize"), name: "treeSize")
        if let leafHashText = parameters.get("leafHash") {
            guard parameters.get("seq") == nil else {
                throw LedgerError(.invalidField, "give seq or leafHash, not both")
            }
            guard leafHashText.utf8.count == 64, let leafHash = Hex.decode(leafHashText) else {
                throw LedgerError(.invalidField, "leafHash is 64 hexadecimal characters")
            }
            // A tree the log does not hold is refused before the search waits its turn.
            let head = try await blocking { try ledger.head().seq }
            if let treeSize, treeSize > head {
                throw LedgerError(.invalidField, "need treeSize ≤ \(head) (the head); got \(treeSize)")
            }
            return JSONResponse.make(
                try await Self.searchingTheLog {
                    try ledger.proveInclusion(leafHash: leafHash, treeSize: treeSize).json
                }
            )
        }
        let seq = try QueryNumber.requiredSeq(parameters.get("seq"), name: "seq")
        return JSONResponse.make(try await blocking { try ledger.proveInclusion(seq: seq, treeSize: treeSize).json })
    }

    /// Searches that read the whole log (a proof by leaf hash).
    private static let logSearches = LogSearchQueue()

    private static func searchingTheLog<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await logSearches.run(body)
    }

    /// `GET /v1/proofs/consistency?from=M&to=N`: the RFC 9162 consistency proof from the tree of the
    /// first M events to that of the first N (the head's without `to`).
    private func consistencyProof(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        try await requireAuditOrRead(context)
        let parameters = request.uri.queryParameters
        let from = try QueryNumber.requiredSeq(parameters.get("from"), name: "from")
        let to = try QueryNumber.optionalSeq(parameters.get("to"), name: "to")
        return JSONResponse.make(try await blocking { try ledger.proveConsistency(from: from, to: to).json })
    }

    /// `GET /checkpoint[?treeSize=N]`: the checkpoint of the head (or of the first N events) as a
    /// C2SP tlog-checkpoint signed note with the witness cosignatures stored on it, at the path
    /// tlog-tiles clients and witnesses ask for it.
    private func checkpointNote(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        try await requireAuditOrRead(context)
        let treeSize = try QueryNumber.optionalSeq(request.uri.queryParameters.get("treeSize"), name: "treeSize")
        let note = try await blocking { try ledger.checkpointNote(treeSize: treeSize).serialized }
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: note))
        )
    }

    /// `POST /v1/checkpoint/cosignatures`: a checkpoint note (text) carrying witness cosignatures;
    /// those of the catalogue's witnesses are checked and stored (``Ledger/addCosignatures(_:)``).
    private func addCosignatures(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        try await caller(context).require(.audit)
        let bytes = try await body(request)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw LedgerError(.invalidField, "a signed note is UTF-8 text")
        }
        let note = try SignedNote(parsing: text)
        return JSONResponse.make(try await blocking { try ledger.addCosignatures(note).json })
    }

    /// `GET /tile/<L>/<N>[.p/<W>]`, `GET /tile/entries/<N>[.p/<W>]` and `GET /records/<N>[.p/<W>]`:
    /// the log as C2SP tlog-tiles and its export records beside them, computed from the ledger, the same bytes `ledgerctl export --tiles` writes. A
    /// tile's bytes never change once the log holds its events (its width is in its path), so
    /// every tile may be cached for good; one the log does not hold yet is 404 `not_found`, a
    /// malformed path 400 `invalid_field`.
    private func tile(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        try await requireAuditOrRead(context)
        let tile = try LogTile(path: request.uri.path.dropFirst())
        let bytes = try await blocking { try ledger.tileData(tile) }
        return Response(
            status: .ok,
            headers: [.contentType: "application/octet-stream", .cacheControl: Self.immutable],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }

    /// The caching of a response whose bytes never change.
    static let immutable = "public, max-age=31536000, immutable"

    private func log(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        try await requireAuditOrRead(context)
        let parameters = request.uri.queryParameters
        let after = try QueryNumber.seq(parameters.get("after"), name: "after")
        let limit = try QueryNumber.limit(parameters.get("limit"), default: 1_000, maximum: 10_000)
        let text = try await blocking {
            var lines = ""
            try ledger.forEachEvent(after: after, limit: limit) { event in
                lines += event.exportRecord.serialized + "\n"
                return true
            }
            return lines
        }
        return Response(
            status: .ok,
            headers: [.contentType: "application/x-ndjson"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }

    private func metricsText(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        try await requireAuditOrRead(context)
        let size = try await blocking { try ledger.storageSize() }
        metrics.ledgerBytes.record(size)
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.render()))
        )
    }
}
