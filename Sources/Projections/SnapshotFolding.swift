import Ledger

/// The fold both snapshot writers share: from the latest stored snapshot, fold the events up to
/// the last interval boundary at or below the head, and produce a snapshot at each boundary.
enum SnapshotFolding {
    /// The first interval boundary after the snapshot at `latestSeq` (after seq 0 when none).
    static func nextBoundary(after latestSeq: UInt64?, interval: UInt64) -> UInt64 {
        let interval = max(1, interval)
        return ((latestSeq ?? 0) / interval + 1) * interval
    }

    /// Whether a snapshot after the one at `latestSeq` is due by `head`.
    static func isDue(latestSeq: UInt64?, head: UInt64, interval: UInt64) -> Bool {
        nextBoundary(after: latestSeq, interval: interval) <= head
    }

    /// The snapshots missing after the one at `latestSeq`, as `(seq, bytes)`, and the fold at the
    /// last of them (to continue from at the next boundary); no snapshots when none is due. The
    /// latest snapshot is read (`read`) only when one is due and no `cached` fold stands for it:
    /// at a million subjects it is tens of megabytes, and every append transaction asks.
    /// - Parameters:
    ///   - latestSeq: The seq of the latest stored snapshot at or before `head`, if any.
    ///   - read: Reads the snapshot stored at a seq, checked against its manifest.
    ///   - cached: The fold at the snapshot at `latestSeq`, when the caller holds it. It is moved
    ///     out (left `nil`), so the fold goes on from it without copying the snapshot's bytes.
    ///   - forEachSummary: Walks the events `from` … `through` in order.
    static func missing(
        latestSeq: UInt64?,
        read: (UInt64) throws -> [UInt8]?,
        cached: inout SnapshotSplicer?,
        head: UInt64,
        interval: UInt64,
        rules: () throws -> ProjectionRules,
        forEachSummary: (_ from: UInt64, _ through: UInt64, (EventSummary) throws -> Void) throws -> Void
    ) throws -> (snapshots: [(seq: UInt64, bytes: [UInt8])], fold: SnapshotSplicer?) {
        let interval = max(1, interval)
        let base = latestSeq ?? 0
        var boundary = nextBoundary(after: latestSeq, interval: interval)
        guard boundary <= head else { return ([], nil) }
        var fold = SnapshotSplicer()
        if latestSeq != nil, let taken = cached.take() {
            fold = consume taken
        } else if let latestSeq {
            guard let bytes = try read(latestSeq), let continued = SnapshotSplicer(snapshot: bytes),
                continued.throughSeq == latestSeq
            else {
                throw LedgerError(.ledgerCorrupt, "the projection snapshot at seq \(latestSeq) cannot be decoded")
            }
            fold = continued
        }
        let rules = try rules()
        var pending: [(seq: UInt64, bytes: [UInt8])] = []
        try forEachSummary(base + 1, head / interval * interval) { event in
            try fold.apply(event, rules: rules)
            if event.seq == boundary {
                pending.append((boundary, fold.snapshot()))
                boundary += interval
            }
        }
        return (pending, fold)
    }
}
