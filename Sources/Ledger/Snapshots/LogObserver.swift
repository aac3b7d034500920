/// Keeps state derived from the log in step with it, inside the write transaction of every append
/// and erasure (SPEC §3: a reader never sees a log and projections that disagree).
///
/// The ledger defines this so it never depends on the projections; `ledgerctl` wires the concrete
/// observer in through ``Ledger/Options/observers``, as swift-log's `LogHandler` lets a library log
/// without knowing the backend.
package protocol LogObserver: Sendable {
    /// Called after events were stored, before the transaction commits. Throwing aborts the append.
    func logDidGrow(_ context: borrowing LogObserverContext) throws
}

/// What an observer may read and write during an append: the log as the transaction sees it and
/// the `snapshots` table.
package struct LogObserverContext: ~Copyable {
    private let writer: TransactionWriter
    private let ledger: Ledger

    /// The seq of the last event, including those of this transaction.
    package let head: UInt64

    init(lending transaction: borrowing WriteTransaction, ledger: Ledger, head: UInt64) {
        writer = transaction.lend()
        self.ledger = ledger
        self.head = head
    }

    /// Calls `body` with the summary of each event from `first` through `last`, in order.
    package func forEachSummary(from first: UInt64, through last: UInt64, _ body: (EventSummary) throws -> Void) throws
    {
        try ledger.storage {
            try writer.forEach(in: ledger.events.table(EventsSchema.log), from: EventsSchema.seqKey(first)) {
                key,
                value in
                guard let seq = EventsSchema.seq(fromKey: key), seq <= last else { return false }
                guard let event = EventSummary(record: value) else {
                    throw LedgerError(.ledgerCorrupt, "log record \(seq) cannot be decoded")
                }
                try body(event)
                return true
            }
        }
    }

    /// The seq of the latest snapshot at or before `seq`, without reading the snapshot.
    package func latestSnapshotSeq(atOrBefore seq: UInt64) throws -> UInt64? {
        try ledger.storage { try SnapshotStore.latestSeq(atOrBefore: seq, in: writer, events: ledger.events) }
    }

    /// The snapshot stored at exactly `seq`, checked against its manifest, and the form it is
    /// stored in (see ``Ledger/storedSnapshotWithForm(at:)``); `nil` when there is none.
    /// - Throws: `ledger_corrupt` when the snapshot or its base does not match its manifest.
    package func snapshotWithForm(at seq: UInt64) throws -> (bytes: [UInt8], form: SnapshotDelta?)? {
        try ledger.storage { try SnapshotStore.readWithForm(seq, in: writer, events: ledger.events) }
    }

    /// Events between projection snapshots, as the ledger was created with.
    package func snapshotInterval() throws -> UInt64 {
        try ledger.snapshotInterval(in: writer)
    }

    /// The catalogue the ledger holds now.
    package func catalogue() throws -> Catalogue {
        try ledger.catalogue(in: writer)
    }

    /// The manifest of the snapshot stored at `seq` (its chunk count, length and SHA-256), without
    /// reading the snapshot; `nil` when there is none.
    package func snapshotManifest(at seq: UInt64) throws -> [UInt8]? {
        try ledger.storage {
            try writer.get(SnapshotStore.key(seq, 0), in: ledger.events.table(EventsSchema.snapshots))
        }
    }

    /// Stores a snapshot of the first `seq` events, whole or as `delta` (whose base is stored
    /// whole already); returns the manifest stored with it.
    @discardableResult
    package func storeSnapshot(_ bytes: [UInt8], at seq: UInt64, delta: SnapshotDelta? = nil) throws -> [UInt8] {
        try ledger.storage {
            try SnapshotStore.put(bytes, at: seq, delta: delta, in: writer, events: ledger.events)
        }
    }
}
