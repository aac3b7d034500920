import Crypto
import Foundation
import Testing

@testable import Ledger
@testable import Projections

/// The one chain rule (``ChainVerifier``) through each of its users: the same damage to the log
/// is named at the same seq, with the same code, by `verify` (``Ledger/verify(progress:)``),
/// `verify --export` (``ExportVerifier``) and `replay` (``Replayer/step(verifying:)``); and
/// `verify --checkpoint` (``CheckpointVerifier``) catches a wrong Merkle root.
@Suite
struct ChainVerifierTests {
    /// One kind of damage written into the log through LMDB, as a tampering operator could.
    enum Fault: CaseIterable {
        case gapInSeq, wrongPrevHash, tamperedPayloadByte, reorderedPair, recordedAtDecreased
    }

    /// Where each user must name the damage: (seq, code) for the ledger, the export and replay.
    private static func expected(_ fault: Fault) -> (seq: UInt64, ledger: String, stream: String) {
        switch fault {
        case .gapInSeq: (5, "seq_gap", "seq_gap")
        case .wrongPrevHash: (6, "prev_hash_mismatch", "prev_hash_mismatch")
        case .tamperedPayloadByte: (7, "hash_mismatch", "hash_mismatch")
        // The log knows each record's key: seq 4 stored under key 3 is out of order. A stream
        // (export, replay) sees seq 4 where 3 was due, as it would for a gap.
        case .reorderedPair: (3, "seq_out_of_order", "seq_gap")
        case .recordedAtDecreased: (5, "recorded_at_decreased", "recorded_at_decreased")
        }
    }

    /// A ledger of 12 events with payloads, recorded a second apart.
    private func ledger(_ directory: TemporaryDirectory) throws -> Ledger {
        let clock = ManualClock()
        let ledger = try Fixture.ledger(in: directory, options: Fixture.options(clock: clock))
        for i in 0..<12 {
            clock.set(Timestamp(milliseconds: 1_772_359_200_000 + Int64(i) * 1_000).rfc3339)
            _ = try ledger.append([try Fixture.grant("c\(i % 4)", extra: #","data":{"n":\#(i)}"#)], actor: "t")
        }
        #expect(try ledger.verify().isValid)
        return ledger
    }

    private func events(of ledger: Ledger) throws -> [StoredEvent] {
        var all: [StoredEvent] = []
        try ledger.forEachEvent { event in
            all.append(event)
            return true
        }
        return all
    }

    /// Writes `events` (seq order) to the log, each from `index` on sealed again onto the one
    /// before it so that only the intended fault remains, and the head record after the last.
    private func store(_ events: [StoredEvent], resealingFrom index: Int, in ledger: Ledger) throws {
        var events = events
        for i in index..<events.count {
            if i > index { events[i].prevHash = events[i - 1].hash }
            events[i].seal()
        }
        try ledger.events.write { txn in
            let log = ledger.events.table(EventsSchema.log)
            for event in events[index...] { try txn.put(event.record, forKey: EventsSchema.seqKey(event.seq), in: log) }
            let last = events[events.count - 1]
            try txn.put(
                ChainHead(seq: last.seq, hash: last.hash, recordedAt: last.recordedAt).encoded,
                forKey: EventsSchema.MetaKey.head,
                in: ledger.events.table(EventsSchema.meta)
            )
        }
    }

    private func damage(_ ledger: Ledger, with fault: Fault) throws {
        var all = try events(of: ledger)
        let log = ledger.events.table(EventsSchema.log)
        switch fault {
        case .gapInSeq:
            try ledger.events.write { txn in _ = try txn.delete(EventsSchema.seqKey(5), in: log) }
        case .wrongPrevHash:
            all[5].prevHash = [UInt8](repeating: 0xAB, count: 32)
            try store(all, resealingFrom: 5, in: ledger)
        case .tamperedPayloadByte:
            try ledger.events.write { txn in
                var record = try #require(try txn.get(EventsSchema.seqKey(7), in: log))
                // The payload is the body's last field: its last byte is the GCM tag's.
                record[record.count - 1] ^= 0x01
                try txn.put(record, forKey: EventsSchema.seqKey(7), in: log)
            }
        case .reorderedPair:
            try ledger.events.write { txn in
                let third = try #require(try txn.get(EventsSchema.seqKey(3), in: log))
                let fourth = try #require(try txn.get(EventsSchema.seqKey(4), in: log))
                try txn.put(fourth, forKey: EventsSchema.seqKey(3), in: log)
                try txn.put(third, forKey: EventsSchema.seqKey(4), in: log)
            }
        case .recordedAtDecreased:
            all[4].recordedAt = Timestamp(milliseconds: all[3].recordedAt.milliseconds - 1)
            try store(all, resealingFrom: 4, in: ledger)
        }
    }

    @Test(arguments: Fault.allCases)
    func everyUserOfTheRuleNamesTheSameDamage(_ fault: Fault) throws {
        let directory = TemporaryDirectory()
        let ledger = try ledger(directory)
        try damage(ledger, with: fault)
        let expected = Self.expected(fault)

        let verified = try #require(try ledger.verify().failure)
        #expect(verified.seq == expected.seq, "verify: \(verified)")
        #expect(verified.code.rawValue == expected.ledger, "verify: \(verified)")

        let path = directory.path + "/export.ndjson"
        try Fixture.export(ledger).write(toFile: path, atomically: true, encoding: .utf8)
        let exported = try #require(try ExportVerifier.verify(path: path).failure)
        #expect(exported.seq == expected.seq, "verify --export: \(exported)")
        #expect(exported.code.rawValue == expected.stream, "verify --export: \(exported)")

        var replayer = Replayer(rules: try ledger.projectionRules())
        var folded: [UInt64] = []
        try ledger.forEachEvent { event in
            guard (try? replayer.step(verifying: event)) != nil else { return false }
            folded.append(event.seq)
            return true
        }
        let replayed = try #require(replayer.chain.failure)
        #expect(replayed.seq == expected.seq, "replay: \(replayed)")
        #expect(replayed.code.rawValue == expected.stream, "replay: \(replayed)")
        // Nothing from the first bad event on is folded.
        #expect(folded == Array(1..<expected.seq))
    }

    @Test func anIntactLogVerifiesThroughEveryUserWithOneHeadAndRoot() throws {
        let directory = TemporaryDirectory()
        let ledger = try ledger(directory)
        let report = try ledger.verify()
        let path = directory.path + "/export.ndjson"
        try Fixture.export(ledger).write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ExportVerifier.verify(path: path) == report)
        var replayer = Replayer(rules: try ledger.projectionRules())
        try ledger.forEachEvent { event in
            _ = try replayer.step(verifying: event)
            return true
        }
        #expect(replayer.chain.failure == nil)
        #expect(Hex.encode(replayer.chain.headHash) == report.headHash)
        #expect(replayer.chain.merkleRoot == (try ledger.merkleRoot(size: 12)))
    }

    @Test func aLogLongEnoughForParallelSegmentsJoinsThemByTheSameRule() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        _ = try ledger.append(try (0..<9_000).map { try Fixture.grant("p\($0 % 50)") }, actor: "t")
        #expect(try ledger.verify().isValid)
        // A wrong link exactly at a segment boundary is found when the segments are joined.
        var boundary = try #require(try ledger.event(seq: 4_501))
        boundary.prevHash = [UInt8](repeating: 7, count: 32)
        boundary.seal()
        try ledger.events.write { txn in
            try txn.put(boundary.record, forKey: EventsSchema.seqKey(4_501), in: ledger.events.table(EventsSchema.log))
        }
        let failure = try #require(try ledger.verify().failure)
        #expect(failure.seq == 4_501)
        #expect(failure.code == .prevHashMismatch)
    }

    // MARK: Checkpoints

    private func signed(_ checkpoint: Checkpoint, by directory: TemporaryDirectory) throws -> Checkpoint {
        let text = try String(contentsOfFile: Ledger.signingKeyPath(for: directory.ledger), encoding: .utf8)
        let raw = try #require(Hex.decode(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        var checkpoint = checkpoint
        checkpoint.signature = Array(try key.signature(for: checkpoint.signedBytes))
        return checkpoint
    }

    @Test func aCheckpointWithAWrongRootIsRefusedWithAndWithoutTheFullCheck() throws {
        let directory = TemporaryDirectory()
        let ledger = try ledger(directory)
        let good = try ledger.checkpoint()
        #expect(try CheckpointVerifier.failure(of: good, against: ledger) == nil)
        #expect(try CheckpointVerifier.failure(of: good, against: ledger, full: true) == nil)
        var wrong = good
        wrong.rootHash = [UInt8](repeating: 0x5A, count: 32)
        wrong = try signed(wrong, by: directory)
        #expect(wrong.hasValidSignature)
        let light = try #require(try CheckpointVerifier.failure(of: wrong, against: ledger))
        #expect(light.code == .checkpointMismatch)
        #expect(light.reason.contains("consistency proof fails"))
        let full = try #require(try CheckpointVerifier.failure(of: wrong, against: ledger, full: true))
        #expect(full.code == .checkpointMismatch)
        #expect(full.reason.contains("Merkle root of the log's first 12 events"))
    }

    @Test func aDamagedStoredMerkleNodeIsCaughtByTheFullCheckpointCheckAndByRebuild() throws {
        let directory = TemporaryDirectory()
        let ledger = try ledger(directory)
        try ledger.events.write { txn in
            try txn.put(
                [UInt8](repeating: 1, count: 32),
                // Leaves 0…7: a node the root of 12 is made of.
                forKey: MerkleStore.key(3, 0),
                in: ledger.events.table(EventsSchema.merkle)
            )
        }
        // The ledger now signs the root its damaged nodes give; the light check, made of the same
        // nodes, cannot tell. The full check recomputes the root from the log.
        let checkpoint = try ledger.checkpoint()
        #expect(try CheckpointVerifier.failure(of: checkpoint, against: ledger) == nil)
        let full = try #require(try CheckpointVerifier.failure(of: checkpoint, against: ledger, full: true))
        #expect(full.code == .checkpointMismatch)
        #expect(try ledger.derivedIndexMismatch()?.code == .merkleNodeMismatch)
    }

    // MARK: The pieces

    @Test func theAccumulatorReproducesTheRFC6962Vectors() throws {
        let url = Fixture.file("rfc6962-merkle.json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let inputs = try #require(object["leafInputsHex"] as? [String]).compactMap { Hex.decode($0) }
        let roots = try #require(object["rootHashesBySize"] as? [String])
        var tree = MerkleAccumulator()
        #expect(Hex.encode(tree.root) == roots[0])
        for (index, input) in inputs.enumerated() {
            tree.append(eventHash: input)
            #expect(Hex.encode(tree.root) == roots[index + 1], "size \(index + 1)")
        }
    }

    @Test func theCodesAreStable() {
        #expect(
            VerificationReport.Failure.Code.all.map(\.rawValue) == [
                "seq_gap", "seq_out_of_order", "record_malformed", "hash_mismatch", "prev_hash_mismatch",
                "recorded_at_decreased", "head_mismatch", "events_after_head", "unreadable", "subject_key_missing",
                "checkpoint_mismatch",
            ]
        )
        #expect(
            DerivedStateMismatch.Code.all.map(\.rawValue) == [
                "subject_index_mismatch", "event_id_index_mismatch", "merkle_node_mismatch", "snapshot_mismatch",
                "request_mismatch",
            ]
        )
    }
}
