import Ledger

/// Checks that the ledger's log extends a checkpoint (`verify --checkpoint`): its signature, its
/// ledger and key, its size, its head, and an RFC 9162 consistency proof from its tree to now.
enum CheckpointVerification {
    /// Why the log does not extend `checkpoint`, or `nil` when it does.
    static func failure(of checkpoint: Checkpoint, against ledger: Ledger) throws -> String? {
        guard checkpoint.hasValidSignature else { return "the checkpoint's signature is not valid (forged or altered)" }
        guard checkpoint.ledgerId == ledger.ledgerId else {
            return "the checkpoint is of another ledger (\(checkpoint.ledgerId))"
        }
        guard checkpoint.publicKey == (try ledger.signingPublicKey()) else {
            return "the checkpoint is signed by a key that is not this ledger's"
        }
        let head = try ledger.head()
        guard checkpoint.treeSize <= head.seq else {
            return
                "the log was truncated: the checkpoint covers \(checkpoint.treeSize) events, the log holds \(head.seq)"
        }
        if checkpoint.treeSize > 0 {
            guard let event = try ledger.event(seq: checkpoint.treeSize), event.hash == checkpoint.headHash,
                event.recordedAt == checkpoint.recordedAt
            else { return "event \(checkpoint.treeSize) is not the one the checkpoint names: the log was rewritten" }
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
        else { return "the log does not extend the checkpoint: the consistency proof fails (rewritten history)" }
        return nil
    }
}
