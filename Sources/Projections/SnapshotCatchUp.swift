import Ledger

/// Writes the projection snapshots a ledger is missing up to its head, outside any append: the
/// fold reads in a read transaction, and each snapshot is stored in short write transactions of
/// its own. The server runs this in the background after commit rounds that cross an interval,
/// so no append waits for a fold (``SnapshotObserver`` does the same inside the append, for
/// one-shot `ledgerctl` processes).
package enum SnapshotCatchUp {
    /// Brings the snapshots up to the head; returns how many were written.
    /// - Parameter continuation: What the last run kept (the server keeps one for its lifetime),
    ///   so the next goes on from its fold and stores deltas of the last snapshot stored whole.
    @discardableResult
    package static func run(_ ledger: Ledger, continuation: SnapshotContinuation = SnapshotContinuation()) throws -> Int
    {
        let head = try ledger.head().seq
        // The bytes are read only when nothing is kept for the latest snapshot, and then at
        // exactly its seq: a `rebuild --repair` removing snapshots meanwhile makes this run fail
        // (the next one starts again), never fold on from another snapshot's bytes.
        let latestSeq = try ledger.snapshotSeq(atOrBefore: head)
        let interval = try ledger.snapshotInterval()
        // Nothing due: the kept fold stays kept (a run between boundaries, as the server makes
        // after an erasure or a round that came during a run, must not give it up).
        guard SnapshotFolding.isDue(latestSeq: latestSeq, head: head, interval: interval) else { return 0 }
        var cached: (fold: SnapshotSplicer, stored: SnapshotDelta)?
        if let latestSeq, let manifest = try ledger.snapshotManifest(at: latestSeq) {
            cached = try continuation.take(seq: latestSeq, manifest: manifest) { try ledger.snapshotManifest(at: $0) }
        }
        let missing = try SnapshotFolding.missing(
            latestSeq: latestSeq,
            read: { try ledger.storedSnapshot(at: $0) },
            cached: &cached,
            head: head,
            interval: interval,
            rules: { try ledger.projectionRules() },
            forEachSummary: { try ledger.forEachSummary(from: $0, through: $1, $2) }
        )
        var written = 0
        for snapshot in missing.snapshots {
            guard try ledger.storeSnapshot(snapshot.bytes, at: snapshot.seq, delta: snapshot.delta) else {
                // Another writer stored it, in a form of its own: the deltas after it must not
                // count on it, and it has stored those after it too (it writes every boundary up
                // to its head).
                return written
            }
            written += 1
        }
        if let last = missing.snapshots.last, let (fold, stored) = missing.continuation, let stored,
            let manifest = try ledger.snapshotManifest(at: last.seq),
            let baseManifest = try ledger.snapshotManifest(at: stored.baseSeq)
        {
            continuation.keep(fold, stored: stored, seq: last.seq, manifest: manifest, baseManifest: baseManifest)
        }
        return written
    }
}
