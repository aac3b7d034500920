import Ledger

/// Writes a snapshot of the ``LedgerProjection`` every N events (the ledger's snapshot interval,
/// set by `ledgerctl init --snapshot-interval`), inside the write
/// transaction of the append that completes each interval. Whole-ledger reads as of any time
/// start from the nearest snapshot and fold only the events after it.
///
/// A ledger written for a while without this observer gets its missing snapshots at the next
/// append made with it.
package struct SnapshotObserver: LogObserver {
    package init() {}

    package func logDidGrow(_ context: borrowing LogObserverContext) throws {
        let interval = max(1, try context.snapshotInterval())
        let latest = try context.snapshot(atOrBefore: context.head)
        let base = latest?.seq ?? 0
        var boundary = (base / interval + 1) * interval
        guard boundary <= context.head else { return }
        var projection = LedgerProjection()
        if let latest {
            guard let decoded = LedgerProjection(snapshot: latest.bytes) else {
                throw LedgerError(.ledgerCorrupt, "the projection snapshot at seq \(latest.seq) cannot be decoded")
            }
            projection = decoded
        }
        let rules = ProjectionRules(catalogue: try context.catalogue())
        let last = context.head / interval * interval
        var pending: [(UInt64, [UInt8])] = []
        try context.forEachSummary(from: base + 1, through: last) { event in
            projection.apply(event, rules: rules)
            if event.seq == boundary {
                pending.append((boundary, projection.snapshot))
                boundary += interval
            }
        }
        for (seq, bytes) in pending { try context.storeSnapshot(bytes, at: seq) }
    }
}
