/// The one writer of the log: every event, a client's or the ledger's own `erasure.completed`,
/// is chained, stored and indexed here, inside the caller's write transaction.
///
/// It owns what each append must keep in step (SPEC §3, §4): the seq (one more than the head,
/// no gaps), the chain (each record's `prevHash` is the hash before it), the log and event-id
/// tables, the per-subject index (and its merge), the Merkle tree, and the head record. Callers
/// give it each event's chain-independent bytes (``ChainHash/tail(seq:eventId:type:subject:purpose:notice:requestId:occurredAt:recordedAt:expiresAt:actor:payload:)``)
/// in seq order, then call ``finish(in:)`` once.
struct LogAppender {
    private let ledger: Ledger
    /// The seq and hash of the last event appended (the head, before any).
    private(set) var seq: UInt64
    private(set) var hash: [UInt8]
    /// The `recordedAt` of this transaction's events.
    let recordedAt: Timestamp
    private var appended = false

    /// Starts after `head`, as read inside the write transaction.
    init(ledger: Ledger, head: ChainHead, recordedAt: Timestamp) {
        self.ledger = ledger
        seq = head.seq
        hash = head.hash
        self.recordedAt = recordedAt
    }

    /// Chains and stores the event whose chain-independent bytes are `tail`, for `pseudonym`.
    /// - Parameter expectedSeq: The seq the caller put in `tail`; it must be the next one.
    /// - Returns: The event's hash.
    /// - Throws: ``LedgerError`` `ledger_corrupt` when the seq is taken or not the next.
    mutating func append(
        tail: [UInt8],
        seq expectedSeq: UInt64,
        eventIdKey: [UInt8],
        pseudonym: [UInt8],
        in txn: borrowing WriteTransaction
    ) throws -> [UInt8] {
        guard expectedSeq == seq + 1 else {
            throw LedgerError(.ledgerCorrupt, "seq \(expectedSeq) is not the next after \(seq)")
        }
        let events = ledger.events
        let (record, newHash) = ChainHash.chain(prevHash: hash, tail: tail)
        let seqKey = EventsSchema.seqKey(expectedSeq)
        guard try txn.insert(record, forKey: seqKey, in: events.table(EventsSchema.log), append: true) else {
            throw LedgerError(.ledgerCorrupt, "seq \(expectedSeq) exists already though the head is \(seq)")
        }
        try txn.put(seqKey, forKey: eventIdKey, in: events.table(EventsSchema.eventIds))
        try SubjectIndex.insert(pseudonym: pseudonym, seq: expectedSeq, in: txn, events: events)
        try MerkleStore.append(eventHash: newHash, previousHash: hash, seq: expectedSeq, in: txn, events: events)
        seq = expectedSeq
        hash = newHash
        appended = true
        return newHash
    }

    /// Merges the subject index when it is full and, when anything was appended, writes the new
    /// head and tree size and tells the observers (projection snapshots).
    func finish(in txn: borrowing WriteTransaction) throws {
        let events = ledger.events
        try SubjectIndex.mergeIfFull(in: txn, events: events, threshold: ledger.options.subjectIndexMergeThreshold)
        guard appended else { return }
        try txn.put(
            ChainHead(seq: seq, hash: hash, recordedAt: recordedAt).encoded,
            forKey: EventsSchema.MetaKey.head,
            in: events.table(EventsSchema.meta)
        )
        try MerkleStore.setSize(seq, in: txn, events: events)
        try ledger.notifyObservers(in: txn, head: seq)
    }
}
