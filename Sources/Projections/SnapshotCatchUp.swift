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
        // The seq and the bytes from one read (the server runs this when a boundary is due, a
        // rebuild once), so a `rebuild --repair` removing snapshots meanwhile cannot make them
        // disagree.
        let latest = try ledger.snapshot(atOrBefore: head)
        var noCache: SnapshotSplicer?
        let missing = try SnapshotFolding.missing(
            latestSeq: latest?.seq,
            read: { _ in latest?.bytes },
            cached: &noCache,
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
