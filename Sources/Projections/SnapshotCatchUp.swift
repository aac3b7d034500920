import Ledger

/// Writes the projection snapshots a ledger is missing up to its head, outside any append: the
/// fold reads in a read transaction, and each snapshot is stored in a short write transaction of
/// its own. The server runs this in the background after commit rounds that cross an interval,
/// so no append waits for a fold (``SnapshotObserver`` does the same inside the append, for
/// one-shot `ledgerctl` processes).
package enum SnapshotCatchUp {
    /// Brings the snapshots up to the head; returns how many were written.
    @discardableResult
    package static func run(_ ledger: Ledger) throws -> Int {
        let head = try ledger.head().seq
        let missing = try SnapshotFolding.missing(
            latestSeq: try ledger.latestSnapshotSeq(atOrBefore: head),
            read: { try ledger.storedSnapshot(at: $0) },
            head: head,
            interval: try ledger.snapshotInterval(),
            rules: { try ledger.projectionRules() },
            forEachSummary: { try ledger.forEachSummary(from: $0, through: $1, $2) }
        )
        var written = 0
        for (seq, bytes) in missing.snapshots where try ledger.storeSnapshot(bytes, at: seq) { written += 1 }
        return written
    }
}
