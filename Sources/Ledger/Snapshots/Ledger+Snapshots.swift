import Foundation

extension Ledger {
    /// Lets every observer bring its derived state up to `head`, inside the write transaction.
    func notifyObservers(in txn: borrowing WriteTransaction, head: UInt64) throws {
        for observer in options.observers {
            try observer.logDidGrow(LogObserverContext(lending: txn, ledger: self, head: head))
        }
    }

    static func snapshot(
        atOrBefore seq: UInt64,
        in txn: borrowing some KeyValueReading & ~Copyable,
        events: Environment
    ) throws -> (seq: UInt64, bytes: [UInt8])? {
        try SnapshotStore.latest(atOrBefore: seq, in: txn, events: events)
    }

    /// The latest projection snapshot covering at most the first `seq` events, if one is stored.
    public func snapshot(atOrBefore seq: UInt64) throws -> (seq: UInt64, bytes: [UInt8])? {
        try storage { try events.read { try Ledger.snapshot(atOrBefore: seq, in: $0, events: events) } }
    }

    /// The seq of the latest projection snapshot covering at most the first `seq` events, found
    /// from the keys alone (the snapshot is not read).
    package func snapshotSeq(atOrBefore seq: UInt64) throws -> UInt64? {
        try storage { try events.read { try SnapshotStore.latestSeq(atOrBefore: seq, in: $0, events: events) } }
    }

    /// The snapshot stored at exactly `seq`, checked against its manifest; `nil` when there is none.
    /// - Throws: `ledger_corrupt` naming the seq when its manifest or a chunk is damaged or missing.
    public func storedSnapshot(at seq: UInt64) throws -> [UInt8]? {
        try storage { try events.read { try SnapshotStore.read(seq, in: $0, events: events) } }
    }

    /// The snapshot stored at exactly `seq`, as ``storedSnapshot(at:)`` reads it, and the form it
    /// is stored in (whole, as a delta of itself, or the delta of its base), which a snapshot
    /// writer continues from so the next snapshot can be a delta too.
    /// - Throws: `ledger_corrupt` naming the seq, as ``storedSnapshot(at:)`` does.
    package func storedSnapshotWithForm(at seq: UInt64) throws -> (bytes: [UInt8], form: SnapshotDelta?)? {
        try storage { try events.read { try SnapshotStore.readWithForm(seq, in: $0, events: events) } }
    }

    /// The snapshot stored at exactly `seq`, as ``storedSnapshot(at:)`` reads it, and whether it
    /// is stored whole; a delta of `knownBase` (a snapshot stored whole that the caller read
    /// before) is made from those bytes instead of reading the base again. `rebuild` reads every
    /// snapshot in order this way.
    package func storedSnapshot(
        at seq: UInt64,
        knownBase: (seq: UInt64, bytes: [UInt8])?
    ) throws -> (bytes: [UInt8], isWhole: Bool)? {
        try storage {
            try events.read { txn in
                guard let manifest = try SnapshotStore.manifest(at: seq, in: txn, events: events),
                    let bytes = try SnapshotStore.read(seq, knownBase: knownBase, in: txn, events: events)
                else { return nil }
                return (bytes, manifest.baseSeq == nil)
            }
        }
    }

    /// The manifest of the snapshot stored at `seq` as stored (its chunk count, length, SHA-256
    /// and the base of a delta); `nil` when there is none.
    package func snapshotManifest(at seq: UInt64) throws -> [UInt8]? {
        try storage {
            try events.read { try $0.get(SnapshotStore.key(seq, 0), in: events.table(EventsSchema.snapshots)) }
        }
    }

    /// Whether the snapshot at `seq` is stored as a delta of an earlier one; `nil` when there is none.
    package func snapshotIsDelta(at seq: UInt64) throws -> Bool? {
        try storage {
            try events.read { try SnapshotStore.manifest(at: seq, in: $0, events: events).map { $0.baseSeq != nil } }
        }
    }

    /// Every stored snapshot's seq, ascending.
    public func snapshotSeqs() throws -> [UInt64] {
        try storage { try events.read { try SnapshotStore.seqs(in: $0, events: events) } }
    }

    /// The number of events "the ledger knew at `time`" (SPEC §5): those with `recordedAt ≤ time`.
    /// Because `recordedAt` never decreases they are a prefix of the log, found by binary search in
    /// O(log n) reads.
    public func prefixLength(asOf time: Timestamp) throws -> UInt64 {
        try storage {
            try events.read { txn in
                let head = try readHead(in: txn)
                var low: UInt64 = 0  // events 1...low are known at `time`
                var high = head.seq
                while low < high {
                    let middle = low + (high - low + 1) / 2
                    if try recordedAt(ofSeq: middle, in: txn) <= time.milliseconds {
                        low = middle
                    } else {
                        high = middle - 1
                    }
                }
                return low
            }
        }
    }

    private func recordedAt(ofSeq seq: UInt64, in txn: borrowing ReadTransaction) throws -> Int64 {
        guard let raw = try txn.get(EventsSchema.seqKey(seq), in: events.table(EventsSchema.log)) else {
            throw LedgerError(.ledgerCorrupt, "seq \(seq) is missing from the log")
        }
        return raw.withUnsafeBytes { Self.recordedAtMilliseconds(ofRecord: $0) } ?? Int64.max
    }

    /// Reads `recordedAt` from a log record without decoding the rest.
    static func recordedAtMilliseconds(ofRecord record: UnsafeRawBufferPointer) -> Int64? {
        guard record.count >= 72 else { return nil }  // hash, prevHash, seq: a damaged record is shorter
        var reader = ByteReader(UnsafeRawBufferPointer(rebasing: record[72...]))
        for _ in 0..<6 {  // eventId, type, subject, purpose, notice, requestId
            guard let length = reader.readU32(), reader.read(count: Int(length)) != nil else { return nil }
        }
        _ = reader.readI64()  // occurredAt
        return reader.readI64()
    }

    /// Calls `body` with each event from `first` through `last` in order, in one read transaction.
    public func forEachEvent(from first: UInt64, through last: UInt64, _ body: (StoredEvent) throws -> Void) throws {
        guard first <= last else { return }
        try forEachEvent(after: first - 1) { event in
            guard event.seq <= last else { return false }
            try body(event)
            return true
        }
    }

    /// The subject's events (read through the per-subject index, never the whole log), without
    /// decrypting anything; only those recorded at or before `asOf` when given.
    public func subjectEvents(pseudonym: String, asOf: Timestamp? = nil) throws -> [StoredEvent] {
        var found: [StoredEvent] = []
        try forEachSubjectRecord(pseudonym: pseudonym) { record in
            guard let event = StoredEvent(record: record) else { return false }
            if let asOf, event.recordedAt > asOf { return true }
            found.append(event)
            return true
        }
        return found
    }

    /// The summaries of the subject's events recorded at or before `asOf`, read as
    /// ``subjectEvents(pseudonym:asOf:)`` reads the events, without building whole events: what a
    /// subject's projection needs.
    /// - Parameter limit: The most events to read: `nil` (having read no event) when the subject
    ///   has more.
    public func subjectSummaries(
        pseudonym: String,
        asOf: Timestamp,
        atMost limit: Int = .max
    ) throws -> [EventSummary]? {
        var found: [EventSummary] = []
        let read = try forEachSubjectRecord(pseudonym: pseudonym, atMost: limit) { record in
            guard let summary = EventSummary(record: record) else { return false }
            if summary.recordedAt <= asOf { found.append(summary) }
            return true
        }
        return read ? found : nil
    }

    /// Calls `body` with each of the subject's log records, in seq order, in one read transaction,
    /// through the per-subject index; `body` returns `false` for a record it cannot read.
    /// - Returns: `false`, having called `body` for none, when the subject has more than `limit`
    ///   events.
    @discardableResult
    private func forEachSubjectRecord(
        pseudonym: String,
        atMost limit: Int = .max,
        _ body: (UnsafeRawBufferPointer) throws -> Bool
    ) throws -> Bool {
        guard let raw = Hex.decode(pseudonym), raw.count == 16 else {
            throw LedgerError(.invalidField, "pseudonym must be 32 hexadecimal characters")
        }
        return try storage {
            try events.read { txn in
                let log = events.table(EventsSchema.log)
                guard let seqs = try SubjectIndex.seqs(of: raw, in: txn, events: events, atMost: limit) else {
                    return false
                }
                for seq in seqs {
                    guard let record = try txn.get(EventsSchema.seqKey(seq), in: log),
                        try record.withUnsafeBytes(body)
                    else { throw LedgerError(.ledgerCorrupt, "the subject index names an event that cannot be read") }
                }
                return true
            }
        }
    }
}

extension Ledger {
    /// Stores a projection snapshot of the first `seq` events, unless one is stored already: each
    /// chunk in a short write transaction of its own, the manifest last (``SnapshotStore``), so no
    /// append waits long for LMDB's writer lock. Snapshots describe an immutable prefix of the log,
    /// so writing one after the append that completed its interval keeps every read consistent.
    ///
    /// Another writer (an appending `ledgerctl` process, which stores snapshots inside its append,
    /// or another process's catch-up) may store the same snapshot meanwhile. Every transaction
    /// here therefore first looks for the manifest and stops once it is there: stale chunks are
    /// removed only while no manifest exists, so a complete snapshot is never removed, not even
    /// for a moment. A catch-up of the same seq in another process removes what it finds before
    /// writing its own chunks, so the transaction that writes the manifest first makes the stored
    /// chunks exactly this writer's (``SnapshotStore/settle(_:at:in:events:)``): a manifest never
    /// names a chunk that is gone or another writer's (found by `ChaosTests`, seed 2).
    ///
    /// With `delta`, the chunks hold the delta's payload (``SnapshotDelta``). Its base must be
    /// stored whole, and is checked in the transaction that stores the manifest: a
    /// `rebuild --repair` beside this writer (an import's background writer, which only the
    /// server's lock does not keep out) may have removed the base, or stored it again as a delta,
    /// since the writer read it. The snapshot is then stored whole instead.
    /// - Returns: Whether it was stored now.
    @discardableResult
    package func storeSnapshot(_ bytes: [UInt8], at seq: UInt64, delta: SnapshotDelta? = nil) throws -> Bool {
        try storeSnapshotTelling(bytes, at: seq, delta: delta) != .byAnotherWriter
    }

    /// How ``Ledger/storeSnapshotTelling(_:at:delta:)`` left a snapshot.
    package enum SnapshotStoring: Sendable, Equatable {
        /// Another writer stored that seq first; nothing was stored now.
        case byAnotherWriter
        /// Stored whole (asked to, or because the delta's base was no longer stored whole).
        case whole
        /// Stored as the delta asked for.
        case asDelta
    }

    /// ``storeSnapshot(_:at:delta:)``, telling how the snapshot was stored, so a writer that goes
    /// on from it continues from the form it really has.
    /// - Throws: As ``storeSnapshot(_:at:delta:)``.
    package func storeSnapshotTelling(
        _ bytes: [UInt8],
        at seq: UInt64,
        delta: SnapshotDelta?
    ) throws
        -> SnapshotStoring
    {
        try storage {
            let table = events.table(EventsSchema.snapshots)
            let manifestKey = SnapshotStore.key(seq, 0)
            if try events.read({ try $0.get(manifestKey, in: table) }) != nil { return .byAnotherWriter }
            Failpoint.hit("snapshot.afterCheck")
            /// Runs `body` in a write transaction of its own unless the manifest is stored by then;
            /// whether it ran.
            func unlessStored(_ body: (borrowing WriteTransaction) throws -> Void) throws -> Bool {
                try events.write { txn in
                    guard try txn.get(manifestKey, in: table) == nil else { return false }
                    try body(txn)
                    return true
                }
            }
            guard try unlessStored({ try SnapshotStore.remove(seq, in: $0, events: events) }) else {
                return .byAnotherWriter
            }
            let stored = try SnapshotStore.storedForm(of: bytes, delta: delta)
            for (index, part) in stored.chunks.enumerated() {
                let key = SnapshotStore.key(seq, UInt32(index + 1))
                guard try unlessStored({ try $0.put(Array(part), forKey: key, in: table) }) else {
                    return .byAnotherWriter
                }
            }
            Failpoint.hit("snapshot.beforeManifest")
            var baseIsGone = false
            let storedNow = try unlessStored { txn in
                if let delta, try !SnapshotStore.isStoredWhole(delta.baseSeq, in: txn, events: events) {
                    baseIsGone = true
                    return
                }
                // Another writer of this seq may have removed or replaced chunks written above.
                try SnapshotStore.settle(stored.chunks, at: seq, in: txn, events: events)
                try txn.put(stored.manifest, forKey: manifestKey, in: table)
            }
            // Its chunks (the delta's payload) are removed again before the whole one is written.
            if baseIsGone { return try storeSnapshotTelling(bytes, at: seq, delta: nil) }
            guard storedNow else { return .byAnotherWriter }
            return delta == nil ? .whole : .asDelta
        }
    }
}
