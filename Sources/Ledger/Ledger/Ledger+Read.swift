import Crypto
import Foundation

/// One event of a subject's history with its payload decrypted, or marked erased.
public struct SubjectEvent: Sendable {
    /// The stored event.
    public var event: StoredEvent
    /// The external id from the payload; `nil` once erased.
    public var externalId: String?
    /// The event's `data` as compact JSON text; `nil` when absent or erased.
    public var data: String?
    /// Whether the subject's key is gone, so nothing can be decrypted.
    public var erased: Bool
}

extension Ledger {
    /// Calls `body` with each event after `after`, in seq order, until it returns `false` or `limit`
    /// events have been given. Reads one consistent snapshot. An `after` at or beyond the head, or a
    /// `limit` below 1, gives no event.
    public func forEachEvent(after: UInt64 = 0, limit: Int? = nil, _ body: (StoredEvent) throws -> Bool) throws {
        // No seq follows UInt64.max: `after + 1` would overflow.
        guard after < UInt64.max, (limit ?? 1) >= 1 else { return }
        try storage {
            try events.read { txn in
                var given = 0
                try txn.forEach(in: events.table(EventsSchema.log), from: EventsSchema.seqKey(after + 1)) { _, value in
                    guard let event = StoredEvent(record: value) else {
                        throw LedgerError(.ledgerCorrupt, "a log record cannot be decoded (run `ledgerctl verify`)")
                    }
                    given += 1
                    return try body(event) && (limit.map { given < $0 } ?? true)
                }
            }
        }
    }

    /// Calls `body` with the summary of each event from `first` through `last`, in order, in one
    /// read transaction: the fast path for folds over the log.
    public func forEachSummary(
        from first: UInt64 = 1,
        through last: UInt64 = .max,
        _ body: (EventSummary) throws -> Void
    ) throws {
        guard first <= last else { return }
        try storage {
            try events.read { txn in
                try txn.forEach(in: events.table(EventsSchema.log), from: EventsSchema.seqKey(first)) { key, value in
                    guard let seq = EventsSchema.seq(fromKey: key), seq <= last else { return false }
                    guard let summary = EventSummary(record: value) else {
                        throw LedgerError(
                            .ledgerCorrupt,
                            "log record \(seq) cannot be decoded (run `ledgerctl verify`)"
                        )
                    }
                    try body(summary)
                    return true
                }
            }
        }
    }

    /// The event with sequence number `seq`, if the log has it.
    public func event(seq: UInt64) throws -> StoredEvent? {
        try storage {
            try events.read { txn in
                try txn.get(EventsSchema.seqKey(seq), in: events.table(EventsSchema.log)).flatMap { raw in
                    raw.withUnsafeBytes { StoredEvent(record: $0) }
                }
            }
        }
    }

    /// The pseudonym an external id resolves to, or `nil` when no live subject has it.
    public func pseudonym(of externalId: String) throws -> String? {
        try ClientEvent.checkExternalId(externalId)
        let lookup = try keyStore.lookupHash(of: externalId)
        return try storage {
            try keyStore.withEnvironment { keys in
                try keys.read { txn in try keyStore.pseudonym(lookupHash: lookup, in: txn, environment: keys) }
            }
        }.map { Hex.encode($0) }
    }

    /// Every event of the subject with this pseudonym, in seq order, read through the per-subject
    /// index, each decrypted while the subject's key exists.
    /// - Parameter asOf: When given, only events with `recordedAt ≤ asOf`.
    public func history(pseudonym: String, asOf: Timestamp? = nil) throws -> [SubjectEvent] {
        guard let raw = Hex.decode(pseudonym), raw.count == 16 else {
            throw LedgerError(.invalidField, "pseudonym must be 32 hexadecimal characters")
        }
        // Erased from its erasure event on, also while its key is still being overwritten.
        let key =
            try isErased(pseudonym: pseudonym)
            ? nil
            : try storage {
                try keyStore.withEnvironment { keys in
                    try keys.read { txn in try keyStore.subjectKey(pseudonym: raw, in: txn, environment: keys) }
                }
            }
        let stored = try subjectEvents(pseudonym: pseudonym, asOf: asOf)
        return try stored.map { event in
            guard let key else { return SubjectEvent(event: event, externalId: nil, data: nil, erased: true) }
            guard !event.payload.isEmpty,
                let plain = try PayloadCipher.open(
                    event.payload,
                    key: key,
                    eventId: event.eventId,
                    pseudonym: pseudonym
                ),
                let object = JSONParser.parse(plain)
            else { return SubjectEvent(event: event, externalId: nil, data: nil, erased: false) }
            // The data exactly as stored: numbers keep their digits (an access report must return
            // a person's data as given).
            var dataText: String?
            if let data = object["data"], data != .null {
                dataText = String(decoding: CanonicalJSON.serialize(data), as: UTF8.self)
            }
            var externalId: String?
            if case .string(let text)? = object["subject"] { externalId = text }
            return SubjectEvent(event: event, externalId: externalId, data: dataText, erased: false)
        }
    }
}

extension Ledger {
    /// The bytes both environments' used pages occupy.
    public func storageSize() throws -> Int {
        let keys = try keyStore.withEnvironment { $0.usage().usedBytes }
        return events.usage().usedBytes + keys
    }
}

/// Counts and sizes of a ledger, for `ledgerctl stats`.
public struct LedgerStatistics: Sendable {
    /// Subjects with a key.
    public var liveSubjects: Int
    /// Subjects erased (their keys destroyed).
    public var erasedSubjects: Int
    /// Projection snapshots stored.
    public var snapshots: Int
    /// How many of them are stored as deltas of an earlier whole one (``SnapshotDelta``).
    public var snapshotDeltas: Int
    /// The events environment's map size and the bytes its pages use.
    public var mapSize: Int
    /// Bytes of the map the events environment's pages use.
    public var mapUsed: Int
}

extension Ledger {
    /// Counts of subjects, erasures and snapshots, and the events map's use.
    public func statistics() throws -> LedgerStatistics {
        let usage = events.usage()
        let (erased, snapshots, deltas) = try storage {
            try events.read { txn in
                let seqs = try SnapshotStore.seqs(in: txn, events: events)
                let deltas = try seqs.count {
                    try SnapshotStore.manifest(at: $0, in: txn, events: events)?.baseSeq != nil
                }
                return (try txn.count(of: events.table(EventsSchema.erased)), seqs.count, deltas)
            }
        }
        return LedgerStatistics(
            liveSubjects: try storage { try keyStore.subjectCount() },
            erasedSubjects: erased,
            snapshots: snapshots,
            snapshotDeltas: deltas,
            mapSize: usage.mapSize,
            mapUsed: usage.usedBytes
        )
    }
}
