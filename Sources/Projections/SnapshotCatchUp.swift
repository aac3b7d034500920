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
        let interval = max(1, try ledger.snapshotInterval())
        let head = try ledger.head().seq
        let latest = try ledger.snapshot(atOrBefore: head)
        let base = latest?.seq ?? 0
        var boundary = (base / interval + 1) * interval
        guard boundary <= head else { return 0 }
        var projection = LedgerProjection()
        if let latest {
            guard let decoded = LedgerProjection(snapshot: latest.bytes) else {
                throw LedgerError(.ledgerCorrupt, "the projection snapshot at seq \(latest.seq) cannot be decoded")
            }
            projection = decoded
        }
        let rules = try ledger.projectionRules()
        var pending: [(UInt64, [UInt8])] = []
        try ledger.forEachSummary(from: base + 1, through: head / interval * interval) { event in
            projection.apply(event, rules: rules)
            if event.seq == boundary {
                pending.append((boundary, projection.snapshot))
                boundary += interval
            }
        }
        var written = 0
        for (seq, bytes) in pending where try ledger.storeSnapshot(bytes, at: seq) { written += 1 }
        return written
    }
}
