/// A derived on-disk structure that does not hold what the log gives (`ledgerctl rebuild`).
public struct DerivedStateMismatch: Error, Sendable, Equatable {
    /// Which structure differs: a stable code, printed by `rebuild`.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The code as written in reports (`"subject_index_mismatch"`, …).
        public var rawValue: String
        /// Wraps a code string.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The raw value.
        public var description: String { rawValue }

        /// The per-subject index (``SubjectIndex``, both levels) misses, repeats or misfiles an event.
        public static let subjectIndexMismatch = Code(rawValue: "subject_index_mismatch")
        /// The event-id index misses an event, maps it to another seq, or holds extra entries.
        public static let eventIdIndexMismatch = Code(rawValue: "event_id_index_mismatch")
        /// A stored Merkle node (``MerkleStore``), the tree's size, or the number of nodes is not
        /// what the log's event hashes give.
        public static let merkleNodeMismatch = Code(rawValue: "merkle_node_mismatch")
        /// A projection snapshot differs from the refold of the log, or cannot be read.
        public static let snapshotMismatch = Code(rawValue: "snapshot_mismatch")
        /// A request record differs from the one the log's request events give.
        public static let requestMismatch = Code(rawValue: "request_mismatch")

        /// Every code, in the order above (pinned by a test).
        public static let all: [Code] = [
            subjectIndexMismatch, eventIdIndexMismatch, merkleNodeMismatch, snapshotMismatch, requestMismatch,
        ]
    }

    /// Which structure differs.
    public var code: Code
    /// What differs, naming seqs and node positions only (never a subject's data).
    public var message: String

    /// Creates a mismatch of `code`, described by `message`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

extension Ledger {
    /// Recomputes from the log the structures the append path derives from it — the event-id
    /// index, the per-subject index (both levels) and the stored Merkle nodes with the tree's
    /// size — and compares them with the stored ones.
    ///
    /// First in one pass over the log and one over each table (``derivedIndexesMatchByDigest()``):
    /// no point read at all. Only when that finds a difference is the log walked again with a
    /// point read of each entry it derives, to name the first one that differs.
    /// - Returns: The first difference, or `nil` when every structure matches the log.
    /// - Throws: ``LedgerError`` `ledger_corrupt` when an event of the log cannot be decoded.
    public func derivedIndexMismatch() throws -> DerivedStateMismatch? {
        if try derivedIndexesMatchByDigest() { return nil }
        return try firstDerivedIndexMismatch()
    }

    /// Whether the event-id index, both levels of the subject index and the Merkle nodes hold
    /// exactly the entries the log gives, compared as order-independent digests (``EntryDigest``)
    /// of the entries derived from one pass over the log and of one sequential pass over each
    /// table, in one read transaction. The point reads of ``firstDerivedIndexMismatch()`` — three
    /// B-tree searches an event, and one a Merkle node — were most of what `rebuild` cost.
    /// `false` also for anything the exact check reports otherwise (a record that does not
    /// decode, a missing seq), so that it runs and says what.
    func derivedIndexesMatchByDigest() throws -> Bool {
        try storage {
            try events.read { txn -> Bool in
                let head = try readHead(in: txn)
                guard try MerkleStore.size(in: txn, events: events) == head.seq else { return false }
                let seed = UInt64.random(in: .min ... .max)
                var fromLog = (
                    ids: EntryDigest(seed: seed), subjects: EntryDigest(seed: seed), nodes: EntryDigest(seed: seed)
                )
                var tree = MerkleAccumulator()
                var readable = true
                try txn.forEach(in: events.table(EventsSchema.log)) { key, value in
                    guard let seq = EventsSchema.seq(fromKey: key), seq <= head.seq else { return false }
                    guard seq == tree.size + 1, let event = IndexedFields(record: value) else {
                        readable = false
                        return false
                    }
                    let seqKey = EventsSchema.seqKey(seq)
                    fromLog.ids.add(event.eventIdKey, seqKey)
                    fromLog.subjects.add(event.pseudonym + seqKey, [])
                    tree.append(eventHash: event.hash) { level, index, hash in
                        fromLog.nodes.add(MerkleStore.key(level, index), hash.bytes)
                    }
                    return true
                }
                guard readable, tree.size == head.seq else { return false }
                var stored = (
                    ids: EntryDigest(seed: seed), subjects: EntryDigest(seed: seed), nodes: EntryDigest(seed: seed)
                )
                try txn.forEach(in: events.table(EventsSchema.eventIds)) { key, value in
                    stored.ids.add(key, value)
                    return true
                }
                // Both levels of the subject index as the one set of (pseudonym, seq) they hold
                // together: an entry in both levels counts twice, and differs.
                try txn.forEach(in: events.table(EventsSchema.subjectEvents)) { key, _ in
                    stored.subjects.add(key, UnsafeRawBufferPointer(start: nil, count: 0))
                    return true
                }
                var filedRight = true
                try txn.forEach(in: events.table(EventsSchema.recentSubjectEvents)) { key, value in
                    let pseudonym = Array(value)
                    guard key.count == 9, pseudonym.count == 16, key[0] == SubjectIndex.bucket(of: pseudonym) else {
                        filedRight = false
                        return false
                    }
                    stored.subjects.add(pseudonym + Array(key[1...]), [])
                    return true
                }
                try txn.forEach(in: events.table(EventsSchema.merkle)) { key, value in
                    stored.nodes.add(key, value)
                    return true
                }
                return filedRight && fromLog.ids == stored.ids && fromLog.subjects == stored.subjects
                    && fromLog.nodes == stored.nodes
            }
        }
    }

    /// The check of ``derivedIndexMismatch()`` entry by entry, in log order, in one read
    /// transaction: every event once plus a few point reads per event.
    /// - Returns: The first difference, or `nil` when every structure matches the log.
    /// - Throws: ``LedgerError`` `ledger_corrupt` when an event of the log cannot be decoded.
    func firstDerivedIndexMismatch() throws -> DerivedStateMismatch? {
        try storage {
            try events.read { txn -> DerivedStateMismatch? in
                let head = try readHead(in: txn)
                let log = events.table(EventsSchema.log)
                let eventIds = events.table(EventsSchema.eventIds)
                let sorted = events.table(EventsSchema.subjectEvents)
                let recent = events.table(EventsSchema.recentSubjectEvents)
                let merkle = events.table(EventsSchema.merkle)
                let treeSize = try MerkleStore.size(in: txn, events: events)
                guard treeSize == head.seq else {
                    return .init(
                        .merkleNodeMismatch,
                        "the Merkle tree covers \(treeSize) events, the log \(head.seq)"
                    )
                }
                var tree = MerkleAccumulator()
                var nodes = 0
                var found: DerivedStateMismatch?
                var undecodable: UInt64?
                try txn.forEach(in: log) { key, value in
                    guard let seq = EventsSchema.seq(fromKey: key), seq <= head.seq else { return false }
                    guard let event = IndexedFields(record: value) else {
                        undecodable = seq
                        return false
                    }
                    let pseudonym = event.pseudonym
                    let seqKey = EventsSchema.seqKey(seq)
                    if try txn.get(event.eventIdKey, in: eventIds) != seqKey {
                        found = .init(
                            .eventIdIndexMismatch,
                            "the event-id index does not map the event of seq \(seq) to it"
                        )
                        return false
                    }
                    let inSorted = try txn.get(pseudonym + seqKey, in: sorted) != nil
                    let recentEntry = try txn.get([SubjectIndex.bucket(of: pseudonym)] + seqKey, in: recent)
                    if let recentEntry, recentEntry != pseudonym {
                        found = .init(.subjectIndexMismatch, "the subject index files seq \(seq) under another subject")
                        return false
                    }
                    switch (inSorted, recentEntry != nil) {
                    case (false, false):
                        found = .init(.subjectIndexMismatch, "the subject index has no entry for seq \(seq)")
                        return false
                    case (true, true):
                        found = .init(.subjectIndexMismatch, "the subject index holds seq \(seq) in both levels")
                        return false
                    default:
                        break
                    }
                    try tree.append(eventHash: event.hash) { level, index, hash in
                        nodes += 1
                        guard found == nil,
                            try txn.get(MerkleStore.key(level, index), in: merkle).flatMap(InlineHash.init) != hash
                        else { return }
                        found = .init(
                            .merkleNodeMismatch,
                            "the Merkle node \(level)/\(index) (completed by seq \(seq)) is not the one the log gives"
                        )
                    }
                    return found == nil
                }
                if let undecodable {
                    throw LedgerError(
                        .ledgerCorrupt,
                        "log record \(undecodable) cannot be decoded; run `ledgerctl verify`"
                    )
                }
                if let found { return found }
                guard tree.size == head.seq else {
                    return .init(
                        .merkleNodeMismatch,
                        "seq \(tree.size + 1) is missing from the log; run `ledgerctl verify`"
                    )
                }
                let idCount = try txn.count(of: eventIds)
                guard idCount == Int(head.seq) else {
                    return .init(
                        .eventIdIndexMismatch,
                        "the event-id index holds \(idCount) entries for \(head.seq) events"
                    )
                }
                let subjectCount = try txn.count(of: sorted) + txn.count(of: recent)
                guard subjectCount == Int(head.seq) else {
                    return .init(
                        .subjectIndexMismatch,
                        "the subject index holds \(subjectCount) entries for \(head.seq) events"
                    )
                }
                let nodeCount = try txn.count(of: merkle)
                guard nodeCount == nodes else {
                    return .init(
                        .merkleNodeMismatch,
                        "the Merkle tree holds \(nodeCount) nodes where the log gives \(nodes)"
                    )
                }
                return nil
            }
        }
    }

    /// Writes the event-id index, the per-subject index and the Merkle nodes again from the log
    /// (`rebuild --repair`), in one write transaction: every entry goes to the sorted level of
    /// the subject index, every node the log's hashes complete to the Merkle table. The log
    /// itself is never touched. Run it with no server on the ledger.
    /// - Returns: The number of events indexed.
    /// - Throws: ``LedgerError`` `ledger_corrupt` when an event of the log cannot be decoded.
    package func rederiveIndexes() throws -> Int {
        try storage {
            try events.write { txn in
                let head = try readHead(in: txn)
                let log = events.table(EventsSchema.log)
                let eventIds = events.table(EventsSchema.eventIds)
                let sorted = events.table(EventsSchema.subjectEvents)
                let merkle = events.table(EventsSchema.merkle)
                try txn.removeAll(in: eventIds)
                try txn.removeAll(in: sorted)
                try txn.removeAll(in: events.table(EventsSchema.recentSubjectEvents))
                try txn.removeAll(in: merkle)
                var tree = MerkleAccumulator()
                // In batches: the log is read, then the batch written, so no cursor of the log is
                // open while other tables change.
                var next: UInt64 = 1
                while next <= head.seq {
                    var batch: [(seq: UInt64, eventId: [UInt8], pseudonym: [UInt8], hash: [UInt8])] = []
                    var undecodable = false
                    try txn.forEach(in: log, from: EventsSchema.seqKey(next)) { key, value in
                        guard let seq = EventsSchema.seq(fromKey: key), seq <= head.seq else { return false }
                        guard let event = StoredEvent(record: value), let pseudonym = Hex.decode(event.subject),
                            pseudonym.count == 16
                        else {
                            undecodable = true
                            return false
                        }
                        batch.append((seq, UUIDText.bytes(event.eventId), pseudonym, event.hash))
                        return batch.count < 4096
                    }
                    if undecodable {
                        throw LedgerError(.ledgerCorrupt, "an event of the log cannot be read; run `ledgerctl verify`")
                    }
                    guard let last = batch.last else { break }
                    for entry in batch {
                        guard entry.seq == tree.size + 1 else {
                            throw LedgerError(
                                .ledgerCorrupt,
                                "seq \(tree.size + 1) is missing from the log; run `ledgerctl verify`"
                            )
                        }
                        let seqKey = EventsSchema.seqKey(entry.seq)
                        try txn.put(seqKey, forKey: entry.eventId, in: eventIds)
                        try txn.put([], forKey: entry.pseudonym + seqKey, in: sorted)
                        try tree.append(eventHash: entry.hash) { level, index, hash in
                            try txn.put(hash, forKey: MerkleStore.key(level, index), in: merkle)
                        }
                    }
                    next = last.seq + 1
                }
                try MerkleStore.setSize(tree.size, in: txn, events: events)
                return Int(tree.size)
            }
        }
    }
}

/// What the index check needs of a log record — its event-id key, pseudonym and hash — read in
/// place: decoding every field into strings (``StoredEvent``) was most of the check's cost.
private struct IndexedFields {
    let eventIdKey: [UInt8]
    let pseudonym: [UInt8]
    let hash: InlineHash

    /// `nil` when the record is not one whole event (every field of ``StoredEvent/record``'s
    /// layout, a known type, nothing after the payload) or its event id or subject is malformed.
    init?(record: UnsafeRawBufferPointer) {
        var reader = ByteReader(record)
        // hash, prevHash, seq; eventId, type, subject; purpose, notice, requestId; the three
        // times; actor, payload; and nothing after.
        guard reader.skip(count: 72), let eventId = reader.readField(), let type = reader.readField(),
            EventType(utf8: type) != nil, let subject = reader.readField(),
            let pseudonym = Pseudonym(hexBytes: subject),
            reader.skipLengthPrefixed(), reader.skipLengthPrefixed(), reader.skipLengthPrefixed(),
            reader.skip(count: 24), reader.skipLengthPrefixed(), reader.skipLengthPrefixed(), reader.isAtEnd
        else { return nil }
        let key = UUIDText.bytes(utf8: eventId)
        guard key.count == 16 else { return nil }
        eventIdKey = key
        self.pseudonym = pseudonym.bytes
        hash = InlineHash(record)  // the record's first 32 bytes: it holds at least 72
    }
}

/// An order-independent digest of a set of table entries: their number and two wrapping sums of
/// 64-bit keyed hashes (SipHash, the standard library's `Hasher`) of each key and value, keyed
/// also by a `seed` the caller draws at random for each comparison (so even a process run with
/// `SWIFT_DETERMINISTIC_HASHING` keys it afresh). Two sets with the same digest are the same set
/// but with a chance of about 2⁻¹²⁸ per comparison, which no stored content can steer: the seed
/// is drawn after the files were written. Used to compare the indexes with the log in
/// sequential passes.
struct EntryDigest: Equatable {
    private let seed: UInt64
    private(set) var count = 0
    private var first: UInt64 = 0
    private var second: UInt64 = 0

    /// An empty digest; digests compare only when made with the same `seed`.
    init(seed: UInt64) { self.seed = seed }

    /// Adds the entry `key` → `value`.
    mutating func add(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        count += 1
        first &+= hash(salt: 1, key, value)
        second &+= hash(salt: 2, key, value)
    }

    /// Adds the entry `key` → `value`.
    mutating func add(_ key: [UInt8], _ value: [UInt8]) {
        key.withUnsafeBytes { key in value.withUnsafeBytes { value in add(key, value) } }
    }

    private func hash(salt: UInt8, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(seed)
        hasher.combine(salt)
        hasher.combine(key.count)
        hasher.combine(bytes: key)
        hasher.combine(bytes: value)
        return UInt64(bitPattern: Int64(hasher.finalize()))
    }
}
