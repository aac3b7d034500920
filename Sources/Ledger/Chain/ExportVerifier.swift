import Foundation

/// Verifies an export file (NDJSON records of SPEC §4) with no ledger and no key: every record's
/// fields exactly as exported, its hash by the SPEC rule, contiguous seqs from 1, and each
/// `prevHash` equal to the previous record's hash.
public struct ExportVerifier {
    static let fields: Set<String> = [
        "seq", "eventId", "type", "subject", "purpose", "notice", "requestId", "occurredAt", "recordedAt",
        "expiresAt", "actor", "payload", "prevHash", "hash",
    ]

    private var previousHash = ChainHash.genesis
    private var expectedSeq: UInt64 = 1
    /// How many lines have verified so far.
    public private(set) var count: UInt64 = 0
    /// The event of the last line that verified.
    public private(set) var lastEvent: StoredEvent?
    /// The hash of the last event that verified (32 zero bytes before the first).
    public var headHash: String { Hex.encode(previousHash) }

    /// A verifier expecting seq 1.
    public init() {}

    /// Verifies the export at `path` (`-` for standard input), handing each verified event to `body`.
    public static func verify(
        path: String,
        _ body: (StoredEvent) throws -> Void = { _ in }
    ) throws -> VerificationReport {
        var reader = try LineReader(path: path)
        var verifier = ExportVerifier()
        while true {
            let line: [UInt8]
            var failure: VerificationReport.Failure?
            do {
                guard let next = try reader.next() else { break }
                line = next
            } catch let error as LedgerError where error.code == .payloadTooLarge {
                // No export record is anywhere near the line limit: this one was altered.
                line = []
                failure = .init(seq: verifier.expectedSeq, reason: "the record is longer than any export record")
            }
            if line.isEmpty, failure == nil { continue }
            failure = failure ?? verifier.check(line: line)
            if failure == nil, let event = verifier.lastEvent { try body(event) }
            if let failure {
                return VerificationReport(
                    events: verifier.count,
                    headSeq: verifier.expectedSeq - 1,
                    headHash: Hex.encode(verifier.previousHash),
                    failure: failure
                )
            }
        }
        return VerificationReport(
            events: verifier.count,
            headSeq: verifier.expectedSeq - 1,
            headHash: Hex.encode(verifier.previousHash),
            failure: nil
        )
    }

    /// Checks the next record; returns the failure or `nil`.
    public mutating func check(line: [UInt8]) -> VerificationReport.Failure? {
        let seq = expectedSeq
        guard let object = JSONValue.parse(line), object.objectMembers != nil else {
            return .init(seq: seq, reason: "the record is not a JSON object")
        }
        switch Self.event(fromRecord: object, expectedSeq: seq) {
        case .failure(let failure):
            return failure
        case .success(let event):
            guard event.prevHash == previousHash else {
                return .init(seq: seq, reason: "prevHash does not match the hash of seq \(seq - 1)")
            }
            lastEvent = event
            previousHash = event.hash
            expectedSeq += 1
            count += 1
            return nil
        }
    }

    /// Reads one export record and checks it on its own: exactly the export fields, each in its
    /// canonical form, and the hash recomputed by the SPEC rule from the record's own `prevHash`.
    /// - Parameter expectedSeq: When given, the seq the record must carry.
    public static func event(
        fromRecord object: JSONValue,
        expectedSeq: UInt64? = nil
    ) -> Result<StoredEvent, VerificationReport.Failure> {
        let number = object["seq"]?.uint64Value ?? 0
        let seq = expectedSeq ?? number
        func fail(_ reason: String) -> Result<StoredEvent, VerificationReport.Failure> {
            .failure(.init(seq: seq, reason: reason))
        }
        guard let members = object.objectMembers, members.count == Self.fields.count,
            Set(members.map(\.0)) == Self.fields
        else { return fail("the record does not have exactly the export fields") }
        // The seq exactly as exported: digits only, no sign, fraction, exponent or leading zero.
        guard case .number(let seqText)? = object["seq"], seqText == String(seq), seq >= 1 else {
            return fail("expected seq \(seq) here: an event is missing, reordered or renumbered")
        }
        var text: [String: String] = [:]
        for field in Self.fields where field != "seq" {
            guard let value = object[field]?.stringValue else { return fail("\(field) is not a string") }
            text[field] = value
        }
        guard let occurred = Self.canonicalTime(text["occurredAt", default: ""]),
            let recorded = Self.canonicalTime(text["recordedAt", default: ""])
        else { return fail("occurredAt or recordedAt is not a canonical RFC 3339 time") }
        let expiresText = text["expiresAt", default: ""]
        var expires: Int64 = 0
        if !expiresText.isEmpty {
            guard let time = Self.canonicalTime(expiresText) else {
                return fail("expiresAt is not a canonical RFC 3339 time")
            }
            expires = time
        }
        guard let payload = Data(base64Encoded: text["payload", default: ""]),
            payload.base64EncodedString() == text["payload", default: ""]
        else {
            return fail("payload is not canonical base64")
        }
        guard let prev = Hex.decode(text["prevHash", default: ""]), prev.count == 32,
            Hex.encode(prev) == text["prevHash", default: ""],
            let hash = Hex.decode(text["hash", default: ""]), hash.count == 32,
            Hex.encode(hash) == text["hash", default: ""]
        else { return fail("prevHash or hash is not 64 lower-case hex characters") }
        let body = ChainHash.body(
            prevHash: prev,
            seq: seq,
            eventId: text["eventId", default: ""],
            type: text["type", default: ""],
            subject: text["subject", default: ""],
            purpose: text["purpose", default: ""],
            notice: text["notice", default: ""],
            requestId: text["requestId", default: ""],
            occurredAt: occurred,
            recordedAt: recorded,
            expiresAt: expires,
            actor: text["actor", default: ""],
            payload: Array(payload)
        )
        guard ChainHash.hash(body: body) == hash else { return fail("the hash does not match the record's contents") }
        guard let type = EventType(rawValue: text["type", default: ""]) else { return fail("unknown event type") }
        return .success(
            StoredEvent(
                seq: seq,
                eventId: text["eventId", default: ""],
                type: type,
                subject: text["subject", default: ""],
                purpose: text["purpose", default: ""],
                notice: text["notice", default: ""],
                requestId: text["requestId", default: ""],
                occurredAt: Timestamp(milliseconds: occurred),
                recordedAt: Timestamp(milliseconds: recorded),
                expiresAt: expires == 0 ? nil : Timestamp(milliseconds: expires),
                actor: text["actor", default: ""],
                payload: Array(payload),
                prevHash: prev,
                hash: hash
            )
        )
    }

    /// The milliseconds of a time written exactly as the ledger exports times.
    static func canonicalTime(_ text: String) -> Int64? {
        guard let time = Timestamp(rfc3339: text), time.rfc3339 == text else { return nil }
        return time.milliseconds
    }
}
