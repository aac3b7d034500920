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
/// subjects the interval touched are decoded and encoded again. The fold at the last snapshot it
/// wrote is kept, so the next boundary in the same process (an `import` crosses many) goes on from
/// it instead of reading the stored snapshot again and checking its SHA-256. It is used only
/// while the stored latest snapshot is the one it wrote: same seq and same manifest (length and
/// SHA-256 of the bytes). A transaction that aborted after writing it, or another process that
/// wrote the snapshots since, leaves a different latest snapshot, and it is read as before.
/// (So damage to the chunks of a snapshot this process wrote, under an intact manifest, is found
/// by `rebuild` and by the next process's boundary, not by this process's next boundary.)
package struct SnapshotObserver: LogObserver {
    private let lastWritten = LastWrittenProjection()

    package init() {}

    package func logDidGrow(_ context: borrowing LogObserverContext) throws {
        let latestSeq = try context.latestSnapshotSeq(atOrBefore: context.head)
        let interval = try context.snapshotInterval()
        guard SnapshotFolding.isDue(latestSeq: latestSeq, head: context.head, interval: interval) else { return }
        var cached: SnapshotSplicer?
        if let latestSeq, let manifest = try context.snapshotManifest(at: latestSeq) {
            cached = lastWritten.take(seq: latestSeq, manifest: manifest)
        }
        let folded = try SnapshotFolding.missing(
            latestSeq: latestSeq,
            read: { try context.snapshot(at: $0) },
            cached: &cached,
            head: context.head,
            interval: interval,
            rules: { ProjectionRules(catalogue: try context.catalogue()) },
            forEachSummary: { try context.forEachSummary(from: $0, through: $1, $2) }
        )
        var last: (seq: UInt64, manifest: [UInt8])?
        for (seq, bytes) in folded.snapshots { last = (seq, try context.storeSnapshot(bytes, at: seq)) }
        if let last, let fold = folded.fold {
            lastWritten.keep(fold, seq: last.seq, manifest: last.manifest)
        }
    }
}

/// The fold at the last snapshot a ``SnapshotObserver`` wrote, with that snapshot's seq and
/// manifest. Appends are serial (one write transaction at a time), so it is taken and kept by
/// one caller at a time; the lock makes that safe whatever the caller.
private final class LastWrittenProjection: Sendable {
    private let kept = Locked<(seq: UInt64, manifest: [UInt8], fold: SnapshotSplicer)?>(nil)

    /// The kept fold when it is that of the snapshot at `seq` with `manifest`; it is given up
    /// either way, so the caller folds on from a copy no one else holds.
    func take(seq: UInt64, manifest: [UInt8]) -> SnapshotSplicer? {
        let taken = kept.withLock { value in
            defer { value = nil }
            return value
        }
        guard let taken, taken.seq == seq, taken.manifest == manifest else { return nil }
        return taken.fold
    }

    func keep(_ fold: SnapshotSplicer, seq: UInt64, manifest: [UInt8]) {
        kept.withLock { $0 = (seq, manifest, fold) }
    }
}
