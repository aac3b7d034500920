import Ledger

/// A consent receipt (issue 15): a person's proof of one grant or withdrawal that they can check
/// offline, without trusting the controller — the event's ISO/IEC TS 27560 record
/// (``ConsentRecord``), its export record, an RFC 9162 inclusion proof of it against a signed
/// checkpoint, and the checkpoint key's ``ReceiptSignature`` binding the record to both.
///
/// It names the subject by pseudonym and holds the payload as ciphertext: after the subject's
/// erasure it still proves the event is in the log, and reveals no personal data.
public struct ConsentReceipt: Sendable {
    /// The `kind` of a receipt file.
    public static let kind = "consent-receipt"

    /// The record of the event.
    public var record: ConsentRecord
    /// The date the receipt was asked for (its record's `event_state` is as of then).
    public var asOf: Timestamp
    /// The checkpoint the proof leads to.
    public var checkpoint: Checkpoint
    /// The inclusion proof of the event against the checkpoint.
    public var proof: InclusionProof
    /// The checkpoint key's signature of the JSON form (``ReceiptSignature``).
    public var signature: [UInt8]
    /// The checkpoint key's signature of the JSON-LD form, which covers its `@context` too.
    public var jsonLDSignature: [UInt8]

    /// `{"kind","asOf","record","exportRecord","proof","checkpoint","signature"}`.
    public var json: JSONValue {
        .object([
            ("kind", .string(Self.kind)), ("asOf", .string(asOf.rfc3339)), ("record", record.json),
            ("exportRecord", record.event.exportRecord), ("proof", proof.json), ("checkpoint", checkpoint.json),
            ("signature", .string(Hex.encode(signature))),
        ])
    }

    /// The receipt of the subject's deciding grant or withdrawal of `purposeId` as of `asOf`
    /// (``ConsentRecord/deciding(purpose:controller:events:asOf:)``), against a checkpoint made now.
    /// - Throws: ``LedgerError`` `unknown_purpose` for a purpose the catalogue lacks,
    ///   `subject_not_found` when the pseudonym has no events, `not_found` when it has no grant or
    ///   withdrawal of the purpose by then, `invalid_field` for an `asOf` in the future (a receipt
    ///   states what holds, not what will).
    public static func make(
        ledger: Ledger,
        pseudonym: String,
        purposeId: String,
        asOf: Timestamp
    ) throws
        -> ConsentReceipt
    {
        let catalogue = try ledger.catalogue()
        guard let purpose = catalogue.purpose(purposeId) else {
            throw LedgerError(
                .unknownPurpose,
                "the catalogue has no purpose \(String(purposeId.prefix(64)).debugDescription)"
            )
        }
        guard asOf <= SystemClock().now().adding(minutes: Ledger.occurredAtTolerance) else {
            throw LedgerError(.invalidField, "asOf lies in the future: a receipt states what holds by now")
        }
        let checkpoint = try ledger.checkpoint()
        let events = try ledger.subjectEvents(pseudonym: pseudonym).filter { $0.seq <= checkpoint.treeSize }
        guard !events.isEmpty else { throw LedgerError(.subjectNotFound, "no events of this pseudonym") }
        let record = try ConsentRecord.deciding(
            purpose: purpose,
            controller: catalogue.controller,
            events: events,
            asOf: asOf
        )
        func sign(context: [UInt8]) throws -> [UInt8] {
            try ledger.signReceipt(
                record: record.json.canonicalUTF8,
                context: context,
                asOf: asOf,
                eventHash: record.event.hash,
                checkpoint: checkpoint
            )
        }
        return ConsentReceipt(
            record: record,
            asOf: asOf,
            checkpoint: checkpoint,
            proof: try ledger.proveInclusion(seq: record.event.seq, treeSize: checkpoint.treeSize),
            signature: try sign(context: []),
            jsonLDSignature: try sign(context: jsonLDContext.canonicalUTF8)
        )
    }

    /// Checks a receipt file offline, with no ledger. Returns what fails, or `nil` when the
    /// checkpoint's signature, the export record's hash, the inclusion proof, the receipt
    /// signature and the record's event-derived fields all verify. With a `catalogue`, the
    /// record's privacy notice must also be one of its purpose's notices, text hash and all.
    public static func failure(ofJSON bytes: [UInt8], catalogue: Catalogue? = nil) -> String? {
        guard let object = JSONValue.parse(bytes), object.objectMembers != nil else {
            return "the receipt is not a JSON object"
        }
        let parts: Set<String> = [
            "@context", "kind", "asOf", "record", "exportRecord", "proof", "checkpoint", "signature",
        ]
        guard object.objectMembers?.allSatisfy({ parts.contains($0.0) }) == true else {
            return "the receipt holds a part no receipt has"
        }
        guard object["kind"]?.stringValue == kind, let record = object["record"], record.objectMembers != nil,
            let asOf = object["asOf"]?.stringValue.flatMap(Timestamp.init(rfc3339:)),
            let exportRecord = object["exportRecord"], exportRecord.objectMembers != nil,
            let proofValue = object["proof"], let checkpointValue = object["checkpoint"],
            let checkpoint = try? Checkpoint(json: checkpointValue),
            let signature = object["signature"]?.stringValue.flatMap(Hex.decode)
        else { return "the receipt is malformed" }
        guard checkpoint.hasValidSignature else { return "the checkpoint's signature is not valid (forged or altered)" }
        let event: StoredEvent
        switch ExportVerifier.event(fromRecord: exportRecord) {
        case .failure(let failure): return "the export record (seq \(failure.seq)): \(failure.reason)"
        case .success(let verified): event = verified
        }
        guard let proof = try? InclusionProof(json: proofValue), proof.leafIndex == event.seq - 1,
            proof.treeSize == checkpoint.treeSize, proof.rootHash == checkpoint.rootHash,
            proof.eventHash == event.hash
        else { return "the inclusion proof is malformed or names another leaf, tree or root" }
        guard
            MerkleTree.verifyInclusion(
                leafHash: MerkleTree.leafHash(event.hash),
                index: event.seq - 1,
                size: checkpoint.treeSize,
                path: proof.hashes,
                root: checkpoint.rootHash
            )
        else { return "the event is not in the checkpointed log (its inclusion proof fails)" }
        guard
            ReceiptSignature.isValid(
                signature,
                record: record.canonicalUTF8,
                context: object["@context"]?.canonicalUTF8 ?? [],
                asOf: asOf,
                eventHash: event.hash,
                checkpoint: checkpoint
            )
        else { return "the receipt signature is not valid for this record, date, context, event and checkpoint" }
        guard event.occurredAt <= asOf else { return "the receipt's asOf lies before its event" }
        if let mismatch = ConsentRecord.mismatch(of: record, with: event) {
            return "\(mismatch) does not match the event"
        }
        if let catalogue, let notice = record["privacy_notice"] {
            guard let version = notice["version"]?.stringValue,
                catalogue.purpose(event.purpose)?.notice(version)?.sha256 == notice["sha256"]?.stringValue
            else { return "the record's privacy_notice is not a notice of the purpose in the given catalogue" }
        }
        return nil
    }
}
