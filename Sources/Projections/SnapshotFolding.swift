import Ledger

/// The fold both snapshot writers share: from the latest stored snapshot, fold the events up to
/// the last interval boundary at or below the head, and store a snapshot at each boundary as it
/// is made, each in the form chosen for it (whole, or a ``SnapshotDelta`` of an earlier one).
enum SnapshotFolding {
    /// A snapshot the fold produced, and how to store it: `delta` is `nil` to store it whole.
    struct Folded {
        var seq: UInt64
        var bytes: [UInt8]
        var delta: SnapshotDelta?
    }

    /// The first interval boundary after the snapshot at `latestSeq` (after seq 0 when none).
    static func nextBoundary(after latestSeq: UInt64?, interval: UInt64) -> UInt64 {
        let interval = max(1, interval)
        return ((latestSeq ?? 0) / interval + 1) * interval
    }

    /// Whether a snapshot after the one at `latestSeq` is due by `head`.
    static func isDue(latestSeq: UInt64?, head: UInt64, interval: UInt64) -> Bool {
        nextBoundary(after: latestSeq, interval: interval) <= head
    }

    /// Folds from the snapshot at `latestSeq` to each missing boundary at or below `head` and hands
    /// each snapshot to `store` as soon as it is made, so a catch-up over many boundaries holds
    /// one snapshot at a time (at a million subjects each is tens of megabytes). Returns how many
    /// were stored and the fold at the last of them with its stored form (to continue from at the
    /// next boundary); nothing when none is due. The latest snapshot is read (`read`) only when
    /// one is due and no `cached` fold stands for it.
    ///
    /// A snapshot is a delta of the last one stored whole while the bytes of its own (what no
    /// range of that one gives) stay within a quarter of its length; otherwise it is stored
    /// whole and the next ones are deltas of it. The latest snapshot's form comes with the fold
    /// (`cached`) or is read with its bytes, so a process that reads it (each `import`, a server
    /// after a restart) makes its first snapshot a delta too.
    /// - Parameters:
    ///   - latestSeq: The seq of the latest stored snapshot at or before `head`, if any.
    ///   - read: Reads the snapshot stored at a seq, checked against its manifest, and the form it
    ///     is stored in (`nil`: store the next one whole).
    ///   - cached: The fold at the snapshot at `latestSeq` and how that snapshot is stored, when
    ///     the caller holds them. They are moved out (left `nil`), so the fold goes on from them
    ///     without copying the snapshot's bytes.
    ///   - forEachSummary: Walks the events `from` … `through` in order; called once per boundary.
    ///   - store: Stores one snapshot and tells how: ``Ledger/SnapshotStoring/byAnotherWriter``
    ///     stops the fold there with no continuation (what follows must not count on a form this
    ///     writer did not store); a delta stored whole instead (its base was gone) makes the next
    ///     ones deltas of it.
    /// - Throws: `ledger_corrupt` when the latest snapshot does not decode or the log ends short of
    ///   a boundary at or below `head` (a damaged log; before, the snapshots from there on were
    ///   skipped without a word); whatever `read`, `rules`, `forEachSummary`, the fold or `store`
    ///   throws.
    static func storeMissing(
        latestSeq: UInt64?,
        read: (UInt64) throws -> (bytes: [UInt8], form: SnapshotDelta?)?,
        cached: inout (fold: SnapshotSplicer, stored: SnapshotDelta)?,
        head: UInt64,
        interval: UInt64,
        rules: () throws -> ProjectionRules,
        forEachSummary: (_ from: UInt64, _ through: UInt64, (EventSummary) throws -> Void) throws -> Void,
        store: (Folded) throws -> Ledger.SnapshotStoring
    ) throws -> (stored: Int, continuation: (fold: SnapshotSplicer, stored: SnapshotDelta)?) {
        let interval = max(1, interval)
        var boundary = nextBoundary(after: latestSeq, interval: interval)
        guard boundary <= head else { return (0, nil) }
        var fold = SnapshotSplicer()
        var stored: SnapshotDelta?
        if latestSeq != nil, let taken = cached.take() {
            fold = taken.fold
            stored = taken.stored
        } else if let latestSeq {
            guard let latest = try read(latestSeq), let continued = SnapshotSplicer(snapshot: latest.bytes),
                continued.throughSeq == latestSeq
            else {
                throw LedgerError(.ledgerCorrupt, "the projection snapshot at seq \(latestSeq) cannot be decoded")
            }
            fold = continued
            stored = latest.form
        }
        let rules = try rules()
        var written = 0
        while boundary <= head {
            try forEachSummary(fold.throughSeq + 1, boundary) { event in try fold.apply(event, rules: rules) }
            guard fold.throughSeq == boundary else {
                throw LedgerError(.ledgerCorrupt, "the log ends before seq \(boundary) (run `ledgerctl verify`)")
            }
            let bytes = fold.snapshot()
            let delta = stored.flatMap { Self.delta(continuing: $0, by: fold.piecesOfLastSnapshot, of: bytes) }
            switch try store(Folded(seq: boundary, bytes: bytes, delta: delta)) {
            case .byAnotherWriter: return (written, nil)
            case .asDelta: stored = delta ?? .whole(at: boundary, length: bytes.count)
            case .whole: stored = .whole(at: boundary, length: bytes.count)
            }
            written += 1
            boundary += interval
        }
        return (written, stored.map { (fold, $0) })
    }

    /// The snapshot `bytes`, made by `pieces` from the one stored as `previous`, as a delta of
    /// `previous`'s base; `nil` (store it whole) when its own bytes and pieces would take more
    /// than a quarter of its length.
    private static func delta(
        continuing previous: SnapshotDelta,
        by pieces: [SnapshotDelta.Piece],
        of bytes: [UInt8]
    ) -> SnapshotDelta? {
        guard let delta = previous.continued(by: pieces), delta.length == bytes.count,
            delta.ownBytes + delta.pieces.count * 17 <= bytes.count / 4
        else { return nil }
        return delta
    }
}

/// What a snapshot writer keeps between the boundaries it crosses: the fold at the last snapshot
/// it stored, with that snapshot's seq, manifest and stored form. It is used only while the stored
/// latest snapshot is that one (same seq and manifest: the length and SHA-256 of its bytes, and
/// its base) and its base still has the manifest it had; a transaction that aborted after writing
/// it, another process that wrote snapshots since, or a `rebuild --repair` may leave a different
/// latest snapshot, and the writer reads it, with the form it is stored in, and goes on from
/// that.
package final class SnapshotContinuation: Sendable {
    private struct Kept {
        var seq: UInt64
        var manifest: [UInt8]
        var baseManifest: [UInt8]
        var fold: SnapshotSplicer
        var stored: SnapshotDelta
    }

    private let kept = Locked<Kept?>(nil)
    /// Whether the kept fold keeps the spare buffer its next snapshot is written into.
    private let keepsSpareBuffer: Bool

    /// - Parameter keepsSpareBuffer: Keep, with the fold, a second buffer the size of a snapshot
    ///   for the next one to be written into, instead of faulting in fresh pages: worth it for a
    ///   one-shot process crossing many boundaries (an `import`), not for a server holding the
    ///   fold for its lifetime (about 100 MB at a million subjects).
    package init(keepsSpareBuffer: Bool = false) {
        self.keepsSpareBuffer = keepsSpareBuffer
    }

    /// The kept fold and stored form when they are those of the snapshot at `seq` with
    /// `manifest`, whose base has `baseManifest`; given up either way, so the caller folds on from
    /// a copy no one else holds.
    private func take(
        seq: UInt64,
        manifest: [UInt8],
        baseManifest: (UInt64) throws -> [UInt8]?
    ) rethrows -> (fold: SnapshotSplicer, stored: SnapshotDelta)? {
        let taken = kept.withLock { value in
            defer { value = nil }
            return value
        }
        guard let taken, taken.seq == seq, taken.manifest == manifest,
            try baseManifest(taken.stored.baseSeq) == taken.baseManifest
        else { return nil }
        return (taken.fold, taken.stored)
    }

    /// Keeps the fold at the snapshot stored at `seq` with `manifest`, in the form `stored`, whose
    /// base has `baseManifest`.
    private func keep(
        _ fold: SnapshotSplicer,
        stored: SnapshotDelta,
        seq: UInt64,
        manifest: [UInt8],
        baseManifest: [UInt8]
    ) {
        var fold = fold
        if !keepsSpareBuffer { fold.releaseSpare() }
        kept.withLock {
            $0 = Kept(seq: seq, manifest: manifest, baseManifest: baseManifest, fold: fold, stored: stored)
        }
    }
}

extension SnapshotContinuation {
    /// Brings the stored snapshots up to `head`, the one way both writers do it
    /// (``SnapshotObserver`` inside an append, ``SnapshotCatchUp`` outside any): goes on from the
    /// fold kept here while it is that of the latest stored snapshot, otherwise from that
    /// snapshot's bytes; folds to each missing boundary, stores each snapshot (a delta while that
    /// keeps it small) and keeps the fold at the last one stored.
    /// - Parameters:
    ///   - manifest: Reads the manifest stored at a seq.
    ///   - store: Stores one snapshot and tells how; ``Ledger/SnapshotStoring/byAnotherWriter``
    ///     when another writer stored that seq first. This run stops there and keeps nothing (the deltas after it must not count on a form this
    ///     writer did not store); the other writer may stop short of this run's head (a catch-up
    ///     that read an earlier head), so a caller that needs them all runs again
    ///     (``SnapshotScheduler/storeDueNow(attempts:)``).
    /// - Returns: How many snapshots were stored.
    func storeMissing(
        head: UInt64,
        latestSeq: UInt64?,
        interval: UInt64,
        manifest: (UInt64) throws -> [UInt8]?,
        read: (UInt64) throws -> (bytes: [UInt8], form: SnapshotDelta?)?,
        rules: () throws -> ProjectionRules,
        forEachSummary: (_ from: UInt64, _ through: UInt64, (EventSummary) throws -> Void) throws -> Void,
        store: (SnapshotFolding.Folded) throws -> Ledger.SnapshotStoring
    ) throws -> Int {
        // Nothing due: the kept fold stays kept (a run between boundaries, as the server makes
        // after an erasure or a round that came during a run, must not give it up).
        guard SnapshotFolding.isDue(latestSeq: latestSeq, head: head, interval: interval) else { return 0 }
        var cached: (fold: SnapshotSplicer, stored: SnapshotDelta)?
        if let latestSeq, let latestManifest = try manifest(latestSeq) {
            cached = try take(seq: latestSeq, manifest: latestManifest, baseManifest: manifest)
        }
        let folded = try SnapshotFolding.storeMissing(
            latestSeq: latestSeq,
            read: read,
            cached: &cached,
            head: head,
            interval: interval,
            rules: rules,
            forEachSummary: forEachSummary,
            store: store
        )
        if let (fold, stored) = folded.continuation,
            let lastManifest = try manifest(fold.throughSeq),
            let baseManifest = try manifest(stored.baseSeq)
        {
            keep(fold, stored: stored, seq: fold.throughSeq, manifest: lastManifest, baseManifest: baseManifest)
        }
        return folded.stored
    }
}
