import Foundation
import Ledger

/// A proof for one subject that can be checked offline, with no ledger (issue 5): a signed
/// checkpoint, the export records of the subject's events, an RFC 9162 inclusion proof of each
/// against the checkpoint, and — for a state bundle — the consent state those events give at `asOf`.
///
/// An **erasure receipt** is the same with one event, the subject's `erasure.completed`.
///
/// What it proves: these events are in the log the checkpoint signs, unaltered, and they give
/// this state. What it cannot prove: that no other event of the subject exists. Compare the
/// checkpoint with one you obtained independently for that.
public struct ProofBundle: Sendable {
    /// What the bundle proves: a subject's state, or an erasure.
    public enum Kind: String, Sendable {
        case subjectState = "subject-state"
        case erasureReceipt = "erasure-receipt"
    }

    /// What the bundle proves.
    public var kind: Kind
    /// The signed checkpoint the proofs lead to.
    public var checkpoint: Checkpoint
    /// The subject's pseudonym.
    public var pseudonym: String
    /// The date the state is given for.
    public var asOf: Timestamp
    /// The subject's events up to the checkpoint, as export records.
    public var events: [StoredEvent]
    /// One inclusion proof per event, against the checkpoint's root.
    public var proofs: [InclusionProof]
    /// The subject's consents as of `asOf`.
    public var consents: [ConsentEntry]

    /// The bundle as JSON.
    public var json: JSONValue {
        .object([
            ("kind", .string(kind.rawValue)), ("subject", .string(pseudonym)), ("asOf", .string(asOf.rfc3339)),
            ("checkpoint", checkpoint.json), ("consents", .array(consents.map(\.json))),
            (
                "events",
                .array(
                    zip(events, proofs).map { event, proof in
                        .object([("record", event.exportRecord), ("proof", proof.json)])
                    }
                )
            ),
        ])
    }

    /// The state bundle of the subject with `pseudonym` as of `asOf`, against a checkpoint made now.
    public static func subjectState(ledger: Ledger, pseudonym: String, asOf: Timestamp) throws -> ProofBundle {
        let checkpoint = try ledger.checkpoint()
        let events = try ledger.subjectEvents(pseudonym: pseudonym, asOf: asOf).filter { $0.seq <= checkpoint.treeSize }
        guard !events.isEmpty else {
            throw LedgerError(.subjectNotFound, "no events of pseudonym \(pseudonym) by then")
        }
        var subject = SubjectProjection()
        for event in events { if let summary = EventSummary(event) { subject.apply(summary) } }
        return ProofBundle(
            kind: .subjectState,
            checkpoint: checkpoint,
            pseudonym: pseudonym,
            asOf: asOf,
            events: events,
            proofs: try events.map { try ledger.proveInclusion(seq: $0.seq, treeSize: checkpoint.treeSize) },
            consents: subject.consents(at: asOf, rules: try ledger.projectionRules())
        )
    }

    /// The receipt of the erasure recorded as event `seq`.
    public static func erasureReceipt(ledger: Ledger, seq: UInt64) throws -> ProofBundle {
        let checkpoint = try ledger.checkpoint()
        guard let event = try ledger.event(seq: seq), event.type == .erasureCompleted else {
            throw LedgerError(.notFound, "seq \(seq) is not an erasure.completed event")
        }
        return ProofBundle(
            kind: .erasureReceipt,
            checkpoint: checkpoint,
            pseudonym: event.subject,
            asOf: event.recordedAt,
            events: [event],
            proofs: [try ledger.proveInclusion(seq: seq, treeSize: checkpoint.treeSize)],
            consents: []
        )
    }

    /// Checks a bundle offline. Returns why it fails, or `nil` when every part verifies.
    /// - Parameter rules: The catalogue rules the state was computed with (TTLs).
    public static func failure(ofJSON bytes: [UInt8], rules: ProjectionRules) -> String? {
        guard let object = JSONValue.parse(bytes), object.objectMembers != nil else {
            return "the bundle is not a JSON object"
        }
        guard let kindText = object["kind"]?.stringValue, let kind = Kind(rawValue: kindText),
            let pseudonym = object["subject"]?.stringValue, let asOfText = object["asOf"]?.stringValue,
            let asOf = Timestamp(rfc3339: asOfText), let checkpointObject = object["checkpoint"],
            let checkpoint = try? Checkpoint(json: checkpointObject),
            let items = object["events"]?.arrayItems
        else { return "the bundle is malformed" }
        guard checkpoint.hasValidSignature else { return "the checkpoint's signature is not valid (forged or altered)" }
        var subject = SubjectProjection()
        for item in items {
            guard let record = item["record"], record.objectMembers != nil, let proofValue = item["proof"] else {
                return "an event of the bundle is malformed"
            }
            let event: StoredEvent
            switch ExportVerifier.event(fromRecord: record) {
            case .failure(let failure): return "event \(failure.seq): \(failure.reason)"
            case .success(let verified): event = verified
            }
            guard event.subject == pseudonym else { return "event \(event.seq) is of another subject" }
            guard event.recordedAt <= asOf, event.seq <= checkpoint.treeSize else {
                return "event \(event.seq) lies after the bundle's time or checkpoint"
            }
            guard let path = inclusionPath(proofValue, of: event, against: checkpoint) else {
                return "event \(event.seq)'s inclusion proof is malformed or names another leaf, tree or root"
            }
            guard
                MerkleTree.verifyInclusion(
                    leafHash: MerkleTree.leafHash(event.hash),
                    index: event.seq - 1,
                    size: checkpoint.treeSize,
                    path: path,
                    root: checkpoint.rootHash
                )
            else { return "event \(event.seq) is not in the checkpointed log (its inclusion proof fails)" }
            if let summary = EventSummary(event) { subject.apply(summary) }
        }
        switch kind {
        case .erasureReceipt:
            guard items.count == 1, subject.erasure != nil else {
                return "an erasure receipt holds one erasure.completed event"
            }
        case .subjectState:
            guard !items.isEmpty else { return "the bundle holds no event" }
            let claimed = object["consents"]?.arrayItems ?? []
            // Compared in canonical form (keys sorted), each side parsed by the same reader.
            let given = claimed.map(\.canonicalUTF8)
            let recomputed = subject.consents(at: asOf, rules: rules).compactMap { entry in
                JSONValue.parse(entry.json.utf8)?.canonicalUTF8
            }
            guard given == recomputed else { return "the stated consents are not what the events give" }
        }
        return nil
    }

    /// The audit path of an event's `proof`: an inclusion proof object (`docs/schemas/inclusion-proof
    /// .schema.json`) whose leaf, tree size and root must be the event's and the checkpoint's, or —
    /// in bundles written before proofs carried them — the bare list of hex hashes. `nil` when it
    /// is neither, or names another leaf, tree or root.
    private static func inclusionPath(
        _ value: JSONValue,
        of event: StoredEvent,
        against checkpoint: Checkpoint
    )
        -> [[UInt8]]?
    {
        if let items = value.arrayItems {
            let path = items.compactMap { $0.stringValue.flatMap(Hex.decode) }
            return path.count == items.count && path.allSatisfy { $0.count == 32 } ? path : nil
        }
        guard let proof = try? InclusionProof(json: value), proof.leafIndex == event.seq - 1,
            proof.treeSize == checkpoint.treeSize, proof.rootHash == checkpoint.rootHash,
            proof.eventHash == event.hash
        else { return nil }
        return proof.hashes
    }
}
