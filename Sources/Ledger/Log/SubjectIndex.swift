/// The per-subject index (SPEC §5: one subject's events are read without the whole log), in two
/// levels so appends stay cheap:
///
/// - `subjectEvents`: pseudonym(16) ‖ u64 seq → ∅, sorted by subject: one subject's events are a
///   single range.
/// - `recentSubjectEvents`: bucket(1) ‖ u64 seq → pseudonym(16), where bucket is the pseudonym's
///   first byte. New entries land at the end of one of 256 buckets, so a batch of ten thousand
///   events dirties a few hundred leaf pages instead of ten thousand random ones.
///
/// While the recent level holds ``mergeThreshold`` entries or more, an append transaction moves
/// buckets — the one holding the oldest entry first, so buckets take turns — sorted, into
/// `subjectEvents`, until it holds fewer: one bucket after a round of a few events. One bucket's
/// pseudonyms share their first byte, so they land in one 256th of the sorted level. What a merge
/// writes per event is about the sorted level's size over the threshold (the pages of that 256th
/// it dirties, shared by a bucket's entries), so the threshold is large; one subject's read scans
/// its bucket, threshold / 256 entries, so the buckets are many. (Format 3 had 64 buckets and a
/// quarter of the threshold, and at 5M events a merge rewrote about 0.4 pages of the sorted level
/// an event.) A subject's events are its range in `subjectEvents` plus its entries in one recent
/// bucket; every entry is in exactly one of the two, in every transaction.
enum SubjectIndex {
    /// Recent entries above which merging starts; a subject's read scans about this / 256 recent
    /// entries (512, as format 3's 32,768 over 64 buckets did).
    static let mergeThreshold = 131_072

    static func bucket(of pseudonym: [UInt8]) -> UInt8 { pseudonym.first ?? 0 }

    /// Records that `seq` belongs to `pseudonym`; merges the recent level when it is full.
    static func insert(pseudonym: [UInt8], seq: UInt64, in txn: borrowing WriteTransaction, events: Environment) throws
    {
        let recent = events.table(EventsSchema.recentSubjectEvents)
        try txn.put(pseudonym, forKey: [bucket(of: pseudonym)] + EventsSchema.seqKey(seq), in: recent)
    }

    /// Moves buckets of the recent level, oldest first, into the sorted level while the recent
    /// level holds `threshold` entries or more.
    static func mergeIfFull(
        in txn: borrowing WriteTransaction,
        events: Environment,
        threshold: Int = mergeThreshold
    ) throws {
        let recent = events.table(EventsSchema.recentSubjectEvents)
        // One bucket at a time until the level is below the threshold again: after a round of a
        // few events that is one bucket; after a batch of thousands, as many as it takes.
        while try txn.count(of: recent) >= threshold, let bucket = try bucketWithOldestEntry(in: txn, events: events) {
            try move(bucket: bucket, in: txn, events: events)
        }
    }

    /// Moves every entry of the recent level into the sorted one, whatever bucket it is under (the
    /// move of a ledger of format 3, whose buckets were another function of the pseudonym).
    static func mergeAll(in txn: borrowing WriteTransaction, events: Environment) throws {
        try mergeIfFull(in: txn, events: events, threshold: 1)
        // An entry whose key is malformed stops the search for buckets; left behind, it would be
        // under a bucket no reader of format 4 scans.
        guard try txn.count(of: events.table(EventsSchema.recentSubjectEvents)) == 0 else {
            throw LedgerError(.ledgerCorrupt, "the recent subject index holds a malformed entry")
        }
    }

    /// Moves every entry of one recent bucket into the sorted level.
    private static func move(bucket: UInt8, in txn: borrowing WriteTransaction, events: Environment) throws {
        var moved: [[UInt8]] = []
        var malformed = false
        try txn.removeRun(in: events.table(EventsSchema.recentSubjectEvents), from: [bucket]) { key, value in
            guard key.count == 9, key[0] == bucket else { return false }
            guard value.count == 16 else {
                malformed = true
                return false
            }
            moved.append(Array(value) + Array(key[1..<9]))
            return true
        }
        // A malformed entry would never leave the level, and merging would never end.
        if malformed || moved.isEmpty {
            throw LedgerError(.ledgerCorrupt, "the recent subject index holds a malformed entry")
        }
        moved.sort { $0.lexicographicallyPrecedes($1) }
        let sorted = events.table(EventsSchema.subjectEvents)
        for key in moved { try txn.put([], forKey: key, in: sorted) }
    }

    /// The bucket whose first entry has the smallest seq: the one merged longest ago.
    private static func bucketWithOldestEntry(in txn: borrowing WriteTransaction, events: Environment) throws -> UInt8?
    {
        let recent = events.table(EventsSchema.recentSubjectEvents)
        var oldest: (bucket: UInt8, seq: UInt64)?
        var next = 0
        while next <= Int(UInt8.max) {
            var first: (bucket: UInt8, seq: UInt64)?
            try txn.forEach(in: recent, from: [UInt8(next)]) { key, _ in
                if key.count == 9, let seq = EventsSchema.seq(fromKey: UnsafeRawBufferPointer(rebasing: key[1..<9])) {
                    first = (key[0], seq)
                }
                return false
            }
            guard let first else { break }
            if first.seq < oldest?.seq ?? .max { oldest = first }
            next = Int(first.bucket) + 1
        }
        return oldest?.bucket
    }

    /// The seqs of `pseudonym`'s events, ascending.
    static func seqs(
        of pseudonym: [UInt8],
        in txn: borrowing some KeyValueReading & ~Copyable,
        events: Environment
    ) throws -> [UInt64] {
        try seqs(of: pseudonym, in: txn, events: events, atMost: .max) ?? []
    }

    /// The seqs of `pseudonym`'s events, ascending; `nil`, having read no more than `limit` + 1 of
    /// them, when it has more than `limit`.
    static func seqs(
        of pseudonym: [UInt8],
        in txn: borrowing some KeyValueReading & ~Copyable,
        events: Environment,
        atMost limit: Int
    ) throws -> [UInt64]? {
        var seqs: [UInt64] = []
        var tooMany = false
        try txn.forEach(in: events.table(EventsSchema.subjectEvents), from: pseudonym) { key, _ in
            guard key.count == 24, key.starts(with: pseudonym) else { return false }
            if let seq = EventsSchema.seq(fromKey: UnsafeRawBufferPointer(rebasing: key[16..<24])) { seqs.append(seq) }
            tooMany = seqs.count > limit
            return !tooMany
        }
        guard !tooMany else { return nil }
        let bucket = bucket(of: pseudonym)
        try txn.forEach(in: events.table(EventsSchema.recentSubjectEvents), from: [bucket]) { key, value in
            guard key.count == 9, key[0] == bucket else { return false }
            if value.elementsEqual(pseudonym),
                let seq = EventsSchema.seq(fromKey: UnsafeRawBufferPointer(rebasing: key[1..<9]))
            {
                seqs.append(seq)
            }
            tooMany = seqs.count > limit
            return !tooMany
        }
        return tooMany ? nil : seqs
    }
}
