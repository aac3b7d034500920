/// Checks that a ledger's log extends a checkpoint (`verify --checkpoint`): its signature, its
/// ledger and key, its size, its head event, and an RFC 9162 consistency proof from its tree to
/// the log's now. With `full`, also the whole chain (``Ledger/verify(progress:)``, on
/// ``ChainVerifier``) and the checkpoint's root recomputed from the log's event hashes
/// (``MerkleAccumulator``), not from the stored Merkle nodes the proof is made of.
public enum CheckpointVerifier {
    /// Why the log does not extend `checkpoint`, or `nil` when it does.
    /// - Parameters:
    ///   - checkpoint: A checkpoint printed earlier by `ledgerctl checkpoint`.
    ///   - ledger: The ledger whose log must extend it.
    ///   - full: Also verify the whole chain and recompute the checkpoint's root from the log.
    /// - Returns: The failure: code `checkpoint_mismatch`, or a chain failure's code with `full`.
    /// - Throws: ``LedgerError`` when the ledger cannot be read.
    public static func failure(
        of checkpoint: Checkpoint,
        against ledger: Ledger,
        full: Bool = false
    ) throws -> VerificationReport.Failure? {
        func mismatch(_ reason: String) -> VerificationReport.Failure {
            .init(seq: checkpoint.treeSize, code: .checkpointMismatch, reason: reason)
        }
        guard checkpoint.hasValidSignature else {
            return mismatch("the checkpoint's signature is not valid (forged or altered)")
        }
        guard checkpoint.ledgerId == ledger.ledgerId else {
            return mismatch("the checkpoint is of another ledger (\(checkpoint.ledgerId))")
        }
        guard checkpoint.publicKey == (try ledger.signingPublicKey()) else {
            return mismatch("the checkpoint is signed by a key that is not this ledger's")
        }
        let head = try ledger.head()
        guard checkpoint.treeSize <= head.seq else {
            return mismatch(
                "the log was truncated: the checkpoint covers \(checkpoint.treeSize) events, the log holds \(head.seq)"
            )
        }
        if checkpoint.treeSize > 0 {
            guard let event = try ledger.event(seq: checkpoint.treeSize), event.hash == checkpoint.headHash,
                event.recordedAt == checkpoint.recordedAt
            else {
                return mismatch(
                    "event \(checkpoint.treeSize) is not the one the checkpoint names: the log was rewritten"
                )
            }
        }
        return try extensionFailure(
            treeSize: checkpoint.treeSize,
            rootHash: checkpoint.rootHash,
            of: ledger,
            full: full
        )
    }

    /// Why the log does not extend the checkpoint `note` (C2SP tlog-checkpoint, as `ledgerctl
    /// checkpoint --format note` prints it), or `nil` when it does and at least
    /// `requiredCosignatures` of `witnesses` cosigned it (C2SP tlog-cosignature/v1).
    /// - Parameters:
    ///   - note: The checkpoint as a signed note, with any cosignatures.
    ///   - ledger: The ledger whose log must extend it.
    ///   - full: Also verify the whole chain and recompute the checkpoint's root from the log.
    ///   - witnesses: The witnesses whose cosignatures count (distinct witnesses, each once).
    ///   - requiredCosignatures: How many of them must have cosigned it.
    /// - Returns: The failure: code `checkpoint_mismatch`, or a chain failure's code with `full`.
    /// - Throws: ``LedgerError`` `invalid_field` when the note's text is not a checkpoint; when
    ///   the ledger cannot be read.
    public static func failure(
        ofNote note: SignedNote,
        against ledger: Ledger,
        full: Bool = false,
        witnesses: [WitnessKey],
        requiredCosignatures: Int
    ) throws -> VerificationReport.Failure? {
        let body = try CheckpointNoteBody(parsing: note.text)
        func mismatch(_ reason: String) -> VerificationReport.Failure {
            .init(seq: body.treeSize, code: .checkpointMismatch, reason: reason)
        }
        let origin = Checkpoint.origin(ledgerId: ledger.ledgerId)
        guard body.origin == origin else {
            return mismatch("the checkpoint is of another log (\(body.origin))")
        }
        guard note.isSigned(by: origin, publicKey: try ledger.signingPublicKey()) else {
            return mismatch("the note carries no valid signature of this ledger's key (forged or altered)")
        }
        // Counted by key, not by name: an Ed25519 cosignature does not sign its witness's name, so
        // one key's signature copied under a second name must not count twice.
        var cosigned: [[UInt8]] = []
        for witness in witnesses {
            for line in note.signatures {
                guard let cosignature = try? Cosignature(line: line, of: witness) else {
                    if line.name == witness.name, line.keyHash == witness.keyID {
                        return mismatch("witness \(witness.name)'s cosignature is malformed")
                    }
                    continue
                }
                guard cosignature.isValid(for: note.text) else {
                    return mismatch("witness \(witness.name)'s cosignature does not verify (forged or altered)")
                }
                if !cosigned.contains(witness.publicKey) { cosigned.append(witness.publicKey) }
            }
        }
        guard cosigned.count >= requiredCosignatures else {
            return mismatch(
                "\(cosigned.count) of the \(requiredCosignatures) witness cosignatures required are on the checkpoint"
                    + (witnesses.isEmpty ? " (no witness is listed)" : "")
            )
        }
        let head = try ledger.head()
        guard body.treeSize <= head.seq else {
            return mismatch(
                "the log was truncated: the checkpoint covers \(body.treeSize) events, the log holds \(head.seq)"
            )
        }
        return try extensionFailure(treeSize: body.treeSize, rootHash: body.rootHash, of: ledger, full: full)
    }

    /// Why the log does not extend the tree of `treeSize` leaves with root `rootHash`: with
    /// `full`, a broken chain or a root the log's hashes do not give; then a consistency proof
    /// from that tree to the log's now that does not verify.
    private static func extensionFailure(
        treeSize: UInt64,
        rootHash: [UInt8],
        of ledger: Ledger,
        full: Bool
    ) throws -> VerificationReport.Failure? {
        func mismatch(_ reason: String) -> VerificationReport.Failure {
            .init(seq: treeSize, code: .checkpointMismatch, reason: reason)
        }
        if full {
            if let broken = try ledger.verify().failure { return broken }
            guard try rootFromLog(of: ledger, size: treeSize) == rootHash else {
                return mismatch(
                    "the Merkle root of the log's first \(treeSize) events is not the checkpoint's: the log was rewritten"
                )
            }
        }
        let head = try ledger.head()
        let root = try ledger.merkleRoot(size: head.seq)
        let proof = try ledger.consistencyProof(from: treeSize, to: head.seq)
        guard
            MerkleTree.verifyConsistency(
                oldSize: treeSize,
                newSize: head.seq,
                oldRoot: rootHash,
                newRoot: root,
                path: proof
            )
        else {
            return mismatch(
                full
                    ? "the stored Merkle nodes do not prove the checkpoint, though the log gives its root: run `ledgerctl rebuild`"
                    : "the log does not extend the checkpoint: the consistency proof fails (rewritten history)"
            )
        }
        return nil
    }

    /// The RFC 9162 root of the first `size` events, from the event hashes of the log alone.
    static func rootFromLog(of ledger: Ledger, size: UInt64) throws -> [UInt8] {
        var tree = MerkleAccumulator()
        guard size > 0 else { return tree.root }
        try ledger.storage {
            try ledger.events.read { txn in
                try txn.forEach(in: ledger.events.table(EventsSchema.log)) { key, value in
                    guard let seq = EventsSchema.seq(fromKey: key), seq <= size, value.count >= 32 else { return false }
                    tree.append(eventHash: Array(value[0..<32]))
                    return seq < size
                }
            }
        }
        return tree.root
    }
}
