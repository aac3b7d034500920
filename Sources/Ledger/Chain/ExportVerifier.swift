import Foundation

/// Verifies an export file (NDJSON records of SPEC §4) with no ledger and no key: every record's
/// fields exactly as exported, then the chain rule of ``ChainVerifier`` over the records in file
/// order (contiguous seqs from 1, each hash recomputed by the SPEC rule, each `prevHash` the
/// previous record's hash, `recordedAt` never decreasing).
public struct ExportVerifier {
    static let fields: Set<String> = [
        "seq", "eventId", "type", "subject", "purpose", "notice", "requestId", "occurredAt", "recordedAt",
        "expiresAt", "actor", "payload", "prevHash", "hash",
    ]

    /// The chain rule, fed every record that reads.
    public private(set) var chain = ChainVerifier()
    /// How many lines have verified so far.
    public var count: UInt64 { chain.count }
    /// The event of the last line that verified.
    public private(set) var lastEvent: StoredEvent?
    /// The hash of the last event that verified (32 zero bytes before the first).
    public var headHash: String { Hex.encode(chain.headHash) }

    /// A verifier expecting seq 1.
    public init() {}

    /// Verifies the export at `path` (`-` for standard input), handing each verified event to `body`.
    public static func verify(
        path: String,
        _ body: (StoredEvent) throws -> Void = { _ in }
    ) throws -> VerificationReport {
        var verifier = ExportVerifier()
        try forEachRecord(path: path) { record in
            switch record {
            case .failure(let failure):
                verifier.chain.record(failure)
                return false
            case .success(let event):
                guard verifier.chain.check(event) == nil else { return false }
                verifier.lastEvent = event
                try body(event)
                return true
            }
        }
        return verifier.report
    }

    /// The report of the lines checked so far.
    public var report: VerificationReport {
        VerificationReport(
            events: chain.count,
            headSeq: chain.headSeq,
            headHash: Hex.encode(chain.headHash),
            failure: chain.failure
        )
    }

    /// Reads the export at `path` (`-` for standard input) record by record, checking each
    /// record's fields on its own (``event(fromRecord:position:)``) but not the chain: hands
    /// `body` each event, or the failure of a line that is not an export record, until `body`
    /// returns `false`. Blank lines are skipped. Feed the events to a ``ChainVerifier``.
    public static func forEachRecord(
        path: String,
        _ body: (Result<StoredEvent, VerificationReport.Failure>) throws -> Bool
    ) throws {
        var reader = try LineReader(path: path)
        var position: UInt64 = 1
        while true {
            let line: [UInt8]
            do {
                guard let next = try reader.next() else { return }
                line = next
            } catch let error as LedgerError where error.code == .payloadTooLarge {
                // No export record is anywhere near the line limit: this one was altered.
                _ = try body(
                    .failure(
                        .init(
                            seq: position,
                            code: .recordMalformed,
                            reason: "the record is longer than any export record"
                        )
                    )
                )
                return
            }
            if line.isEmpty { continue }
            guard try body(event(fromLine: line, position: position)) else { return }
            position += 1
        }
    }

    /// Checks the next record; returns the failure or `nil`.
    public mutating func check(line: [UInt8]) -> VerificationReport.Failure? {
        switch Self.event(fromLine: line, position: chain.expectedSeq) {
        case .failure(let failure):
            chain.record(failure)
            return chain.failure
        case .success(let event):
            if let failure = chain.check(event) { return failure }
            lastEvent = event
            return nil
        }
    }

    private static func event(
        fromLine line: [UInt8],
        position: UInt64
    ) -> Result<StoredEvent, VerificationReport.Failure> {
        guard let object = JSONValue.parse(line), object.objectMembers != nil else {
            return .failure(.init(seq: position, code: .recordMalformed, reason: "the record is not a JSON object"))
        }
        return decode(record: object, position: position)
    }

    /// Reads one export record and checks it on its own: exactly the export fields, each in its
    /// canonical form, and its hash recomputed by the SPEC rule from its own fields (a proof
    /// bundle's records, which are not consecutive).
    public static func event(fromRecord object: JSONValue) -> Result<StoredEvent, VerificationReport.Failure> {
        decode(record: object, position: object["seq"]?.uint64Value ?? 0).flatMap { event in
            if let failure = ChainVerifier.failure(ofStandalone: event) { return .failure(failure) }
            return .success(event)
        }
    }

    /// Reads one export record's fields, each in its canonical form; checks no hash.
    /// - Parameter position: The seq to name in a failure when the record's own cannot be read.
    static func decode(record object: JSONValue, position: UInt64) -> Result<StoredEvent, VerificationReport.Failure> {
        func fail(_ reason: String) -> Result<StoredEvent, VerificationReport.Failure> {
            .failure(.init(seq: position, code: .recordMalformed, reason: reason))
        }
        guard let members = object.objectMembers, members.count == Self.fields.count,
            Set(members.map(\.0)) == Self.fields
        else { return fail("the record does not have exactly the export fields") }
        // The seq exactly as exported: digits only, no sign, fraction, exponent or leading zero.
        guard case .number(let seqText)? = object["seq"], let seq = object["seq"]?.uint64Value,
            seqText == String(seq), seq >= 1
        else {
            return fail("seq is not a whole number from 1, written as the ledger exports it")
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
