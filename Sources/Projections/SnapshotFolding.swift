import Ledger

/// The fold both snapshot writers share: from the latest stored snapshot, fold the events up to
/// the last interval boundary at or below the head, and produce a snapshot at each boundary.
enum SnapshotFolding {
    /// The snapshots missing after the one at `latestSeq`, as `(seq, bytes)`; empty when none is
    /// due. The latest snapshot is read (`read`) only when one is due: at a million subjects it is
    /// tens of megabytes, and every append transaction asks.
    /// - Parameters:
    ///   - latestSeq: The seq of the latest stored snapshot at or before `head`, if any.
    ///   - read: Reads the snapshot stored at a seq, checked against its manifest.
    ///   - forEachSummary: Walks the events `from` … `through` in order.
    static func missing(
        latestSeq: UInt64?,
        read: (UInt64) throws -> [UInt8]?,
        head: UInt64,
        interval: UInt64,
        rules: () throws -> ProjectionRules,
        forEachSummary: (_ from: UInt64, _ through: UInt64, (EventSummary) throws -> Void) throws -> Void
    ) throws -> [(seq: UInt64, bytes: [UInt8])] {
        let interval = max(1, interval)
        let base = latestSeq ?? 0
        var boundary = (base / interval + 1) * interval
        guard boundary <= head else { return [] }
        var projection = LedgerProjection()
        if let latestSeq {
            guard let bytes = try read(latestSeq), let decoded = LedgerProjection(snapshot: bytes) else {
                throw LedgerError(.ledgerCorrupt, "the projection snapshot at seq \(latestSeq) cannot be decoded")
            }
            projection = decoded
        }
        let rules = try rules()
        var pending: [(seq: UInt64, bytes: [UInt8])] = []
        try forEachSummary(base + 1, head / interval * interval) { event in
            projection.apply(event, rules: rules)
            if event.seq == boundary {
                pending.append((boundary, projection.snapshot))
                boundary += interval
            }
        }
        return pending
    }
}
