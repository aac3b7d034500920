/// The per-subject index (SPEC §5: one subject's events are read without the whole log), in two
/// levels so appends stay cheap:
///
/// - `subjectEvents`: pseudonym(16) ‖ u64 seq → ∅, sorted by subject: one subject's events are a
///   single range.
/// - `recentSubjectEvents`: bucket(1) ‖ u64 seq → pseudonym(16), where bucket is the pseudonym's
///   first byte's top six bits. New entries land at the end of one of 64 buckets, so a batch of a
///   thousand events dirties about 64 leaf pages instead of a thousand random ones.
///
/// When the recent level reaches ``mergeThreshold`` entries, the append that crosses it moves them,
/// sorted, into `subjectEvents` and empties the recent level, in the same transaction. A subject's
/// events are its range in `subjectEvents` plus its entries in one recent bucket.
enum SubjectIndex {
    /// Recent entries that trigger a merge; a subject's read scans about this / 64 recent entries.
    static let mergeThreshold = 32_768

    static func bucket(of pseudonym: [UInt8]) -> UInt8 { (pseudonym.first ?? 0) >> 2 }

    /// Records that `seq` belongs to `pseudonym`; merges the recent level when it is full.
    static func insert(pseudonym: [UInt8], seq: UInt64, in txn: borrowing WriteTransaction, events: Environment) throws {
        let recent = events.table(EventsSchema.recentSubjectEvents)
        try txn.put(pseudonym, forKey: [bucket(of: pseudonym)] + EventsSchema.seqKey(seq), in: recent)
    }

    /// Moves the recent level into the sorted level when it holds ``mergeThreshold`` entries or more.
    static func mergeIfFull(
        in txn: borrowing WriteTransaction, events: Environment, threshold: Int = mergeThreshold
    ) throws {
        let recent = events.table(EventsSchema.recentSubjectEvents)
        guard try txn.count(of: recent) >= threshold else { return }
        var keys: [[UInt8]] = []
        keys.reserveCapacity(threshold)
        try txn.forEach(in: recent, from: nil) { key, value in
            guard key.count == 9, value.count == 16 else { return true }
            keys.append(Array(value) + Array(key[1..<9]))
            return true
        }
        keys.sort { $0.lexicographicallyPrecedes($1) }
        let sorted = events.table(EventsSchema.subjectEvents)
        for key in keys { try txn.put([], forKey: key, in: sorted) }
        try txn.removeAll(in: recent)
    }

    /// The seqs of `pseudonym`'s events, ascending.
    static func seqs(
        of pseudonym: [UInt8], in txn: borrowing some KeyValueReading & ~Copyable, events: Environment
    ) throws -> [UInt64] {
        var seqs: [UInt64] = []
        try txn.forEach(in: events.table(EventsSchema.subjectEvents), from: pseudonym) { key, _ in
            guard key.count == 24, key.starts(with: pseudonym) else { return false }
            if let seq = EventsSchema.seq(fromKey: UnsafeRawBufferPointer(rebasing: key[16..<24])) { seqs.append(seq) }
            return true
        }
        let bucket = bucket(of: pseudonym)
        try txn.forEach(in: events.table(EventsSchema.recentSubjectEvents), from: [bucket]) { key, value in
            guard key.count == 9, key[0] == bucket else { return false }
            if value.elementsEqual(pseudonym), let seq = EventsSchema.seq(fromKey: UnsafeRawBufferPointer(rebasing: key[1..<9])) {
                seqs.append(seq)
            }
            return true
        }
        return seqs
    }
}
