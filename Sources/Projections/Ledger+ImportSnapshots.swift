import Ledger
import Logging

extension Ledger {
    /// ``importNDJSON(from:actor:catalogue:progress:)`` with the projection snapshots it crosses
    /// written beside it, by a ``SnapshotScheduler`` on a background queue nudged after each
    /// chunk, instead of inside the commit of the chunk that reaches each boundary: the writer
    /// thread, which the import waits on, no longer folds and stores a snapshot of every subject
    /// there, and the fold overlaps the chunks after it.
    ///
    /// Before it returns, the queue is drained and catch-ups run until the last boundary at or
    /// below the head has its snapshot (another process storing snapshots at the same time may
    /// store some of them; what this one finds stored it goes on from). A catch-up that fails is
    /// thrown, its message saying how many events were committed; when the import itself fails
    /// after chunks committed, its refusal is thrown, and their snapshots are stored as far as
    /// they can be.
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
        let stored = Result { try snapshots.storeDueNow() }
        let summary = try outcome.get()
        do {
            _ = try stored.get()
        } catch let error as LedgerError {
            throw LedgerError(
                error.code,
                "\(summary.appended) events were imported (\(summary.replayed) already present), but their "
                    + "projection snapshots could not all be stored (the next append or import stores them): "
                    + error.message
            )
        }
        return summary
    }
}
