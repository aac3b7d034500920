import Ledger
import Logging

extension Ledger {
    /// ``importNDJSON(from:actor:catalogue:progress:)`` with the projection snapshots it crosses
    /// written beside it, by a ``SnapshotScheduler`` on a background queue nudged after each
    /// chunk, instead of inside the commit of the chunk that reaches each boundary: the writer
    /// thread, which the import waits on, no longer folds and stores a snapshot of every subject
    /// there, and the fold overlaps the chunks after it. When this returns, or throws after
    /// chunks committed, every snapshot due up to the head is stored: the scheduler is drained,
    /// and a last catch-up stores what it could not (whose failure is then thrown).
    ///
    /// The ledger must be opened without ``SnapshotObserver``, or its commits store the
    /// snapshots themselves (the scheduler would then find them stored and write nothing).
    package func importWritingSnapshotsBeside(
        from reader: consuming LineReader,
        actor: String,
        catalogue: Catalogue,
        logger: Logger,
        progress: (UInt64) -> Void = { _ in }
    ) throws -> ImportSummary {
        let snapshots = SnapshotScheduler(ledger: self, logger: logger, keepsSpareBuffer: true)
        let outcome: Result<ImportSummary, any Error>
        do {
            outcome = .success(
                try importNDJSON(from: reader, actor: actor, catalogue: catalogue) { bytes in
                    progress(bytes)
                    snapshots.nudge(reaching: (try? head().seq) ?? 0)
                }
            )
        } catch {
            outcome = .failure(error)
        }
        snapshots.drain()
        // Nothing is due when the scheduler kept up, and this returns without reading a snapshot.
        let stored = Result { try SnapshotCatchUp.run(self) }
        let summary = try outcome.get()
        _ = try stored.get()
        return summary
    }
}
