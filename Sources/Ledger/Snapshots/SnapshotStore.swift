import Crypto

/// How projection snapshots are stored in the `snapshots` table: in chunks of at most
/// ``chunkSize`` bytes under `seq ‖ u32(1…n)`, then a manifest under `seq ‖ u32(0)` holding the
/// chunk count, the length and the SHA-256 of the whole. A snapshot exists once its manifest does,
/// so one written chunk by chunk — each chunk in a short write transaction of its own, as the
/// server does — is never seen half-written, and no transaction holds LMDB's writer lock for long.
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

    static func manifest(for bytes: [UInt8], chunks: Int) -> [UInt8] {
        var writer = ByteWriter(capacity: 48)
        writer.write(u32: UInt32(chunks))
        writer.write(u64: UInt64(bytes.count))
        writer.write(Array(SHA256.hash(data: bytes)))
        return writer.bytes
    }

    /// Writes a whole snapshot in `txn`, replacing one stored at `seq`; returns its manifest.
    @discardableResult
    static func put(
        _ bytes: [UInt8],
        at seq: UInt64,
        in txn: borrowing some KeyValueWriting & ~Copyable,
        events: Environment
    ) throws -> [UInt8] {
        let table = events.table(EventsSchema.snapshots)
        try remove(seq, in: txn, events: events)
        let parts = chunks(of: bytes)
        for (index, part) in parts.enumerated() {
            try txn.put(Array(part), forKey: key(seq, UInt32(index + 1)), in: table)
        }
        let manifest = manifest(for: bytes, chunks: parts.count)
        try txn.put(manifest, forKey: key(seq, 0), in: table)
        return manifest
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

    /// The snapshot at exactly `seq`, checked against its manifest; `nil` when there is none.
    static func read(
        _ seq: UInt64,
        in txn: borrowing some KeyValueReading & ~Copyable,
        events: Environment
    ) throws -> [UInt8]? {
        let table = events.table(EventsSchema.snapshots)
        guard let manifest = try txn.get(key(seq, 0), in: table) else { return nil }
        let parsed: (UInt32, UInt64, [UInt8])? = manifest.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            guard let count = reader.readU32(), let length = reader.readU64(), let digest = reader.read(count: 32)
            else { return nil }
            return (count, length, digest)
        }
        guard let (count, length, digest) = parsed else {
            throw LedgerError(
                .ledgerCorrupt,
                "the snapshot manifest at seq \(seq) is damaged; `ledgerctl rebuild --repair` writes it again from the log"
            )
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(length))
        for chunk in 0..<count {
            guard let part = try txn.get(key(seq, chunk + 1), in: table) else {
                throw LedgerError(
                    .ledgerCorrupt,
                    "the snapshot at seq \(seq) is missing a chunk; `ledgerctl rebuild --repair` writes it again from the log"
                )
            }
            bytes += part
        }
        guard bytes.count == Int(length), Array(SHA256.hash(data: bytes)) == digest else {
            throw LedgerError(
                .ledgerCorrupt,
                "the snapshot at seq \(seq) does not match its manifest; `ledgerctl rebuild --repair` writes it again from the log"
            )
        }
        return bytes
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
