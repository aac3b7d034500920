import Crypto
import Foundation

/// How projection snapshots are stored in the `snapshots` table: in chunks of at most
/// ``chunkSize`` bytes under `seq ‖ u32(1…n)`, then a manifest under `seq ‖ u32(0)` holding the
/// chunk count, the length and the SHA-256 of the whole snapshot and, for a snapshot stored as a
/// ``SnapshotDelta``, the seq of its base. A snapshot exists once its manifest does, so one
/// written chunk by chunk — each chunk in a short write transaction of its own, as the server
/// does — is never seen half-written, and no transaction holds LMDB's writer lock for long.
///
/// The chunks hold the snapshot itself, or the payload of its delta. Either way the manifest's
/// digest is of the whole snapshot, so a read checks what it returns, however it was stored.
enum SnapshotStore {
    static let chunkSize = 1 << 20

    static func key(_ seq: UInt64, _ chunk: UInt32) -> [UInt8] {
        var writer = ByteWriter(capacity: 12)
        writer.write(u64: seq)
        writer.write(u32: chunk)
        return writer.bytes
    }

    static func chunks(of bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        stride(from: 0, to: max(bytes.count, 1), by: chunkSize).map { bytes[$0..<min($0 + chunkSize, bytes.count)] }
    }

    /// A stored snapshot's manifest: `u32 chunks ‖ u64 length ‖ SHA-256(32)`, then `u64 baseSeq`
    /// when the chunks hold a delta.
    struct Manifest: Equatable {
        /// How many chunks hold the stored form.
        var chunks: UInt32
        /// The whole snapshot's length.
        var length: UInt64
        /// The SHA-256 of the whole snapshot.
        var digest: [UInt8]
        /// The seq of the snapshot stored whole that the chunks' delta copies from; `nil` when
        /// the chunks hold the snapshot itself.
        var baseSeq: UInt64?

        init(chunks: Int, whole bytes: [UInt8], baseSeq: UInt64?) {
            self.chunks = UInt32(chunks)
            length = UInt64(bytes.count)
            digest = Array(SHA256.hash(data: bytes))
            self.baseSeq = baseSeq
        }

        /// Decodes a stored manifest; `nil` when it is not one.
        init?(stored: [UInt8]) {
            let parsed: Manifest? = stored.withUnsafeBytes { raw in
                var reader = ByteReader(raw)
                guard let chunks = reader.readU32(), let length = reader.readU64(), let digest = reader.read(count: 32)
                else { return nil }
                var manifest = Manifest(chunks: chunks, length: length, digest: digest, baseSeq: nil)
                if !reader.isAtEnd {
                    guard let base = reader.readU64(), reader.isAtEnd else { return nil }
                    manifest.baseSeq = base
                }
                return manifest
            }
            guard let parsed else { return nil }
            self = parsed
        }

        private init(chunks: UInt32, length: UInt64, digest: [UInt8], baseSeq: UInt64?) {
            self.chunks = chunks
            self.length = length
            self.digest = digest
            self.baseSeq = baseSeq
        }

        var encoded: [UInt8] {
            var writer = ByteWriter(capacity: 52)
            writer.write(u32: chunks)
            writer.write(u64: length)
            writer.write(digest)
            if let baseSeq { writer.write(u64: baseSeq) }
            return writer.bytes
        }
    }

    /// What to store for the snapshot `bytes`: its chunks and its manifest, whole or as `delta`.
    /// - Throws: `internal` when `delta` does not describe `bytes` (a writer's mistake, caught
    ///   before anything is stored).
    static func storedForm(
        of bytes: [UInt8],
        delta: SnapshotDelta?
    ) throws -> (chunks: [ArraySlice<UInt8>], manifest: [UInt8]) {
        if let delta, delta.length != bytes.count {
            throw LedgerError(.internal, "a snapshot's delta does not describe its bytes")
        }
        let payload = delta.map { $0.payload(of: bytes) } ?? bytes
        let parts = chunks(of: payload)
        return (parts, Manifest(chunks: parts.count, whole: bytes, baseSeq: delta?.baseSeq).encoded)
    }

    /// Writes a snapshot in `txn`, whole or as `delta` (whose base is stored whole), replacing one
    /// stored at `seq`; returns its manifest.
    @discardableResult
    static func put(
        _ bytes: [UInt8],
        at seq: UInt64,
        delta: SnapshotDelta? = nil,
        in txn: borrowing some KeyValueWriting & ~Copyable,
        events: Environment
    ) throws -> [UInt8] {
        let table = events.table(EventsSchema.snapshots)
        try remove(seq, in: txn, events: events)
        let stored = try storedForm(of: bytes, delta: delta)
        for (index, part) in stored.chunks.enumerated() {
            try txn.put(Array(part), forKey: key(seq, UInt32(index + 1)), in: table)
        }
        try txn.put(stored.manifest, forKey: key(seq, 0), in: table)
        return stored.manifest
    }

    /// Makes the chunks stored at `seq` exactly `chunks`, in `txn`: puts again each one that is
    /// missing or differs and deletes any past the last. A writer that stores a snapshot chunk by
    /// chunk, each in a transaction of its own, calls this in the transaction that writes the
    /// manifest: another writer of the same seq (a catch-up in another process) removes what it
    /// finds before writing its own chunks, so without it a manifest could name chunks that are
    /// gone or belong to the other writer's form. Each chunk is compared in place: for a whole
    /// snapshot of a million subjects (72 MB) that holds the writer lock some milliseconds more,
    /// once per snapshot stored whole; nothing is written unless another writer got in between.
    /// - Throws: ``LMDBError`` when LMDB refuses a read, put or delete (a full map included).
    static func settle(
        _ chunks: [ArraySlice<UInt8>],
        at seq: UInt64,
        in txn: borrowing some KeyValueReading & KeyValueWriting & ~Copyable,
        events: Environment
    ) throws {
        let table = events.table(EventsSchema.snapshots)
        var stale: [[UInt8]] = []
        var matching = Set<Int>()
        try txn.forEach(in: table, from: key(seq, 1)) { raw, value in
            guard raw.count == 12, raw.starts(with: EventsSchema.seqKey(seq)) else { return false }
            let index = Int(raw[8]) << 24 | Int(raw[9]) << 16 | Int(raw[10]) << 8 | Int(raw[11])
            guard index >= 1, index <= chunks.count else {
                stale.append(Array(raw))
                return true
            }
            let part = chunks[index - 1]
            let same =
                value.count == part.count
                && part.withUnsafeBytes { mine in
                    guard let mine = mine.baseAddress, let theirs = value.baseAddress else { return true }
                    return memcmp(mine, theirs, part.count) == 0
                }
            if same { matching.insert(index) }
            return true
        }
        for stray in stale { try txn.delete(stray, in: table) }
        for (offset, part) in chunks.enumerated() where !matching.contains(offset + 1) {
            try txn.put(Array(part), forKey: key(seq, UInt32(offset + 1)), in: table)
        }
    }

    /// Deletes the snapshot at `seq` and any chunks of it.
    static func remove(_ seq: UInt64, in txn: borrowing some KeyValueWriting & ~Copyable, events: Environment) throws {
        let table = events.table(EventsSchema.snapshots)
        var keys: [[UInt8]] = []
        try txn.forEach(in: table, from: key(seq, 0)) { raw, _ in
            guard raw.count == 12, raw.starts(with: EventsSchema.seqKey(seq)) else { return false }
            keys.append(Array(raw))
            return true
        }
        for stale in keys { try txn.delete(stale, in: table) }
    }

    /// The complete snapshot with the greatest seq ≤ `seq`.
    static func latest(
        atOrBefore seq: UInt64,
        in txn: borrowing some KeyValueReading & ~Copyable,
        events: Environment
    ) throws -> (seq: UInt64, bytes: [UInt8])? {
        guard let found = try latestSeq(atOrBefore: seq, in: txn, events: events) else { return nil }
        return try read(found, in: txn, events: events).map { (found, $0) }
    }

    /// The seq of the complete snapshot with the greatest seq ≤ `seq`, found from the keys alone:
    /// its chunks are neither read nor checked.
    static func latestSeq(
        atOrBefore seq: UInt64,
        in txn: borrowing some KeyValueReading & ~Copyable,
        events: Environment
    ) throws -> UInt64? {
        let table = events.table(EventsSchema.snapshots)
        var candidates: [UInt64] = []
        try txn.forEachReversed(in: table, from: key(seq, UInt32.max)) { raw, _ in
            guard raw.count == 12, let at = EventsSchema.seq(fromKey: UnsafeRawBufferPointer(rebasing: raw[0..<8])),
                at <= seq
            else {
                return true
            }
            if raw[8..<12].allSatisfy({ $0 == 0 }) { candidates.append(at) }
            return candidates.isEmpty
        }
        return candidates.first
    }

    /// The snapshot at exactly `seq`, checked against its manifest; `nil` when there is none. A
    /// snapshot stored as a delta is made from its base, which must be stored whole.
    /// - Parameter knownBase: A snapshot stored whole that the caller read before (checked then):
    ///   a delta of it is made from these bytes instead of reading its chunks again.
    static func read(
        _ seq: UInt64,
        knownBase: (seq: UInt64, bytes: [UInt8])? = nil,
        in txn: borrowing some KeyValueReading & ~Copyable,
        events: Environment
    ) throws -> [UInt8]? {
        try readWithForm(seq, knownBase: knownBase, in: txn, events: events)?.bytes
    }

    /// The snapshot at exactly `seq`, as ``read(_:knownBase:in:events:)`` reads it, and the form
    /// it is stored in: ``SnapshotDelta/whole(at:length:)`` of itself, or the delta of its base;
    /// `nil` (store the next one whole) when that delta's pieces do not fit the length the base's
    /// manifest gives, which a base whose chunks match its manifest rules out.
    /// - Throws: `ledger_corrupt` as ``read(_:knownBase:in:events:)`` does.
    static func readWithForm(
        _ seq: UInt64,
        knownBase: (seq: UInt64, bytes: [UInt8])? = nil,
        in txn: borrowing some KeyValueReading & ~Copyable,
        events: Environment
    ) throws -> (bytes: [UInt8], form: SnapshotDelta?)? {
        guard let manifest = try manifest(at: seq, in: txn, events: events) else { return nil }
        let stored = try chunks(of: manifest, at: seq, in: txn, events: events)
        var bytes = stored
        var form: SnapshotDelta? = .whole(at: seq, length: Int(manifest.length))
        if let baseSeq = manifest.baseSeq {
            // Only the base's chunks are read, not checked: the whole snapshot's digest covers
            // every byte taken from them.
            guard baseSeq < seq, let base = try self.manifest(at: baseSeq, in: txn, events: events),
                base.baseSeq == nil,
                let assembled = try assemble(
                    payload: stored,
                    length: Int(manifest.length),
                    base: base,
                    at: baseSeq,
                    knownBase: knownBase,
                    in: txn,
                    events: events
                )
            else {
                throw LedgerError(
                    .ledgerCorrupt,
                    "the snapshot at seq \(seq) cannot be made from its base; `ledgerctl rebuild --repair` writes it again from the log"
                )
            }
            bytes = assembled
            form = SnapshotDelta(
                payload: stored,
                baseSeq: baseSeq,
                length: Int(manifest.length),
                baseLength: Int(base.length)
            )
        }
        guard bytes.count == Int(manifest.length), Array(SHA256.hash(data: bytes)) == manifest.digest else {
            throw LedgerError(
                .ledgerCorrupt,
                "the snapshot at seq \(seq) does not match its manifest; `ledgerctl rebuild --repair` writes it again from the log"
            )
        }
        return (bytes, form)
    }

    /// The snapshot a delta's `payload` makes from the base stored whole at `baseSeq` (with
    /// manifest `base`): from `knownBase` when it is that one, otherwise from the base's chunks
    /// read in place, in order, so no copy of the whole base is made. `nil` when they do not make
    /// it.
    private static func assemble(
        payload: [UInt8],
        length: Int,
        base: Manifest,
        at baseSeq: UInt64,
        knownBase: (seq: UInt64, bytes: [UInt8])?,
        in txn: borrowing some KeyValueReading & ~Copyable,
        events: Environment
    ) throws -> [UInt8]? {
        if let knownBase, knownBase.seq == baseSeq {
            return SnapshotDelta.assemble(payload: payload, base: knownBase.bytes, length: length)
        }
        // The base's length as stored, not as its manifest says: the pieces are checked against
        // it, and the snapshot's length against it and the payload's, before anything is reserved.
        let baseLength = try storedLength(of: base, at: baseSeq, in: txn, events: events)
        return try SnapshotDelta.assemble(payload: payload, length: length, baseLength: baseLength) { part in
            try forEachChunk(of: base, at: baseSeq, in: txn, events: events, part)
        }
    }

    /// Whether a snapshot is stored at `seq`, whole (a delta's base must be).
    /// - Throws: `ledger_corrupt` when its manifest is damaged.
    static func isStoredWhole(
        _ seq: UInt64,
        in txn: borrowing some KeyValueReading & ~Copyable,
        events: Environment
    ) throws -> Bool {
        guard let manifest = try manifest(at: seq, in: txn, events: events) else { return false }
        return manifest.baseSeq == nil
    }

    /// The manifest stored at `seq`; `nil` when there is none.
    /// - Throws: `ledger_corrupt` when it is damaged.
    static func manifest(
        at seq: UInt64,
        in txn: borrowing some KeyValueReading & ~Copyable,
        events: Environment
    ) throws -> Manifest? {
        guard let stored = try txn.get(key(seq, 0), in: events.table(EventsSchema.snapshots)) else { return nil }
        // A length beyond what a map can hold is damage too (and could not be reserved).
        guard let manifest = Manifest(stored: stored), manifest.length <= UInt64(Int32.max) * 64 else {
            throw LedgerError(
                .ledgerCorrupt,
                "the snapshot manifest at seq \(seq) is damaged; `ledgerctl rebuild --repair` writes it again from the log"
            )
        }
        return manifest
    }

    /// The chunks `manifest` names at `seq`, joined (each read in place, copied once): the
    /// snapshot or its delta's payload.
    private static func chunks(
        of manifest: Manifest,
        at seq: UInt64,
        in txn: borrowing some KeyValueReading & ~Copyable,
        events: Environment
    ) throws -> [UInt8] {
        // Sized by what is stored, never by the manifest's length, which a damaged manifest
        // could make larger than memory.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(try storedLength(of: manifest, at: seq, in: txn, events: events))
        try forEachChunk(of: manifest, at: seq, in: txn, events: events) { part in
            bytes.append(contentsOf: part)
            return true
        }
        return bytes
    }

    /// How many bytes the chunks `manifest` names at `seq` hold, read without copying them.
    /// - Throws: `ledger_corrupt` when a chunk is missing.
    private static func storedLength(
        of manifest: Manifest,
        at seq: UInt64,
        in txn: borrowing some KeyValueReading & ~Copyable,
        events: Environment
    ) throws -> Int {
        var length = 0
        try forEachChunk(of: manifest, at: seq, in: txn, events: events) { part in
            length += part.count
            return true
        }
        return length
    }

    /// Lends `body` each chunk `manifest` names at `seq`, in order, in place, until it returns
    /// `false`.
    /// - Throws: `ledger_corrupt` when a chunk is missing (and `body` asked for it).
    private static func forEachChunk(
        of manifest: Manifest,
        at seq: UInt64,
        in txn: borrowing some KeyValueReading & ~Copyable,
        events: Environment,
        _ body: (UnsafeRawBufferPointer) -> Bool
    ) throws {
        var chunk: UInt32 = 1
        var stopped = false
        if manifest.chunks > 0 {
            try txn.forEach(in: events.table(EventsSchema.snapshots), from: key(seq, chunk)) { storedKey, value in
                guard storedKey.elementsEqual(key(seq, chunk)) else { return false }
                chunk += 1
                stopped = !body(value)
                return !stopped && chunk <= manifest.chunks
            }
        }
        guard stopped || chunk > manifest.chunks else {
            throw LedgerError(
                .ledgerCorrupt,
                "the snapshot at seq \(seq) is missing a chunk; `ledgerctl rebuild --repair` writes it again from the log"
            )
        }
    }

    /// The seqs of every complete snapshot, ascending.
    static func seqs(in txn: borrowing some KeyValueReading & ~Copyable, events: Environment) throws -> [UInt64] {
        var seqs: [UInt64] = []
        try txn.forEach(in: events.table(EventsSchema.snapshots), from: nil) { raw, _ in
            if raw.count == 12, raw[8..<12].allSatisfy({ $0 == 0 }),
                let seq = EventsSchema.seq(fromKey: UnsafeRawBufferPointer(rebasing: raw[0..<8]))
            {
                seqs.append(seq)
            }
            return true
        }
        return seqs
    }
}
