import Ledger

/// Writes the projection snapshots a ledger is missing up to its head, outside any append: the
/// fold reads each interval's events in a read transaction, and each snapshot is stored, as soon
/// as it is folded, in short write transactions of its own. The server and `ledgerctl import`
/// run this in the background (``SnapshotScheduler``) after the commits that cross an interval,
/// so no append waits for a fold
/// (``SnapshotObserver`` does the same inside the append, for the other one-shot `ledgerctl`
/// processes).
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
        // (the next one starts again), never fold on from another snapshot's bytes; a delta whose
        // base it removed is stored whole (``Ledger/storeSnapshot(_:at:delta:)``).
        return try continuation.storeMissing(
            head: head,
            latestSeq: try ledger.snapshotSeq(atOrBefore: head),
            interval: try ledger.snapshotInterval(),
            manifest: { try ledger.snapshotManifest(at: $0) },
            read: { try ledger.storedSnapshotWithForm(at: $0) },
            rules: { try ledger.projectionRules() },
            forEachSummary: { try ledger.forEachSummary(from: $0, through: $1, $2) },
            store: { try ledger.storeSnapshotTelling($0.bytes, at: $0.seq, delta: $0.delta) }
        )
    }
}
