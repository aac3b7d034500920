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
        if full {
            if let broken = try ledger.verify().failure { return broken }
            guard try rootFromLog(of: ledger, size: checkpoint.treeSize) == checkpoint.rootHash else {
                return mismatch(
                    "the Merkle root of the log's first \(checkpoint.treeSize) events is not the checkpoint's: the log was rewritten"
                )
            }
        }
        let root = try ledger.merkleRoot(size: head.seq)
        let proof = try ledger.consistencyProof(from: checkpoint.treeSize, to: head.seq)
        guard
            MerkleTree.verifyConsistency(
                oldSize: checkpoint.treeSize,
                newSize: head.seq,
                oldRoot: checkpoint.rootHash,
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
