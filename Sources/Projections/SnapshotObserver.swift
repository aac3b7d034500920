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
        let missing = try SnapshotFolding.missing(
            latestSeq: try context.latestSnapshotSeq(atOrBefore: context.head),
            read: { try context.snapshot(at: $0) },
            head: context.head,
            interval: try context.snapshotInterval(),
            rules: { ProjectionRules(catalogue: try context.catalogue()) },
            forEachSummary: { try context.forEachSummary(from: $0, through: $1, $2) }
        )
        for (seq, bytes) in missing { try context.storeSnapshot(bytes, at: seq) }
    }
}
