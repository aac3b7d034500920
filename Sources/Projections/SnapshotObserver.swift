import Ledger

/// Writes a snapshot of the ``LedgerProjection`` every N events (the ledger's snapshot interval,
/// set by `ledgerctl init --snapshot-interval`), inside the write
/// transaction of the append that completes each interval. Whole-ledger reads as of any time
/// start from the nearest snapshot and fold only the events after it.
///
/// A ledger written for a while without this observer gets its missing snapshots at the next
/// append made with it.
///
/// Each snapshot is folded on from the previous one's bytes (``SnapshotSplicer``): only the
/// subjects the interval touched are decoded and encoded again, and the snapshot is stored as a
/// ``SnapshotDelta`` of the last one stored whole while that keeps it small
/// (``SnapshotFolding``). The fold at the last snapshot it wrote is kept
/// (``SnapshotContinuation``), so the next boundary in the same process (an `import` crosses
/// many) goes on from it instead of reading the stored snapshot again and checking its SHA-256.
/// (So damage to the chunks of a snapshot this process wrote, under an intact manifest, is found
/// by `rebuild` and by the next process's boundary, not by this process's next boundary.)
package struct SnapshotObserver: LogObserver {
    /// One-shot processes: the spare buffer makes each boundary after the first two cheaper.
    private let continuation = SnapshotContinuation(keepsSpareBuffer: true)

    package init() {}

    package func logDidGrow(_ context: borrowing LogObserverContext) throws {
        // Inside the append's transaction no other writer stores a snapshot: every store stands.
        _ = try continuation.storeMissing(
            head: context.head,
            latestSeq: try context.latestSnapshotSeq(atOrBefore: context.head),
            interval: try context.snapshotInterval(),
            manifest: { try context.snapshotManifest(at: $0) },
            read: { try context.snapshotWithForm(at: $0) },
            rules: { ProjectionRules(catalogue: try context.catalogue()) },
            forEachSummary: { try context.forEachSummary(from: $0, through: $1, $2) },
            store: { snapshot in
                _ = try context.storeSnapshot(snapshot.bytes, at: snapshot.seq, delta: snapshot.delta)
                return snapshot.delta == nil ? .whole : .asDelta
            }
        )
    }
}
