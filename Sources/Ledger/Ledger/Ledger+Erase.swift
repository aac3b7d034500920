import Foundation

extension Ledger {
    /// Executes an erasure by crypto-shredding (SPEC §6): appends `erasure.completed` (closing the
    /// named open erasure request), then deletes the subject's key and lookup entry, then compacts
    /// the key store so no freed page keeps them.
    ///
    /// - Parameters:
    ///   - externalId: The subject's external id.
    ///   - requestId: An open erasure request of the subject to close, if any.
    ///   - actor: Who executes the erasure.
    /// - Throws: ``LedgerError`` `subject_not_found`, `request_not_open`, `invalid_field`.
    public func erase(subject externalId: String, requestId: String?, actor: String) throws -> ErasureResult {
        try erase(subject: externalId, requestId: requestId, actor: actor, interruptBeforeKeyDeletion: false)
    }

    /// The erasure, with a switch that stops it between its two commits as a crash would (tests only).
    func erase(
        subject externalId: String,
        requestId: String?,
        actor: String,
        interruptBeforeKeyDeletion: Bool
    )
        throws -> ErasureResult
    {
        try ClientEvent.checkExternalId(externalId)
        let requestId = try requestId.map { text in
            guard let id = UUIDText.canonical(text) else {
                throw LedgerError(.invalidField, "requestId must be a UUID")
            }
            return id
        }
        let lookup = keyStore.lookupHash(of: externalId)
        var result = try storage {
            try keyStore.withEnvironment { keys in
                try events.withTransactions(also: [keys]) {
                    let keysTxn = try keys.beginWrite()
                    let eventsTxn = try events.beginWrite()
                    guard let pseudonym = try keyStore.pseudonym(lookupHash: lookup, in: keysTxn, environment: keys)
                    else {
                        throw LedgerError(.subjectNotFound, "no subject has this external id (it may have been erased)")
                    }
                    let event = try appendErasureEvent(
                        pseudonym: pseudonym,
                        requestId: requestId,
                        actor: actor,
                        eventsTxn: eventsTxn
                    )
                    try keyStore.deleteSubject(pseudonym: pseudonym, in: keysTxn, environment: keys)
                    subjectKeyCache.evict(pseudonym)
                    // The erasure is recorded (with its pending marker) before the key goes: a crash
                    // between the commits leaves a marker that the next open repairs.
                    try eventsTxn.commit()
                    if interruptBeforeKeyDeletion {
                        keysTxn.abort()
                    } else {
                        try keysTxn.commit()
                    }
                    return ErasureResult(
                        seq: event.seq,
                        pseudonym: event.subject,
                        hash: event.hashHex,
                        keyStoreCompacted: false
                    )
                }
            }
        }
        logger.debug("erasure executed", metadata: ["pseudonym": "\(result.pseudonym)", "seq": "\(result.seq)"])
        if interruptBeforeKeyDeletion { return result }
        try clearPendingErasure(Hex.decode(result.pseudonym) ?? [])
        result.keyStoreCompacted = (try? compactKeyStore()) != nil
        return result
    }

    private func appendErasureEvent(
        pseudonym: [UInt8],
        requestId: String?,
        actor: String,
        eventsTxn: borrowing WriteTransaction
    ) throws -> StoredEvent {
        let head = try readHead(in: eventsTxn)
        let now = options.clock.now()
        let recordedAt = max(now, head.recordedAt ?? now)
        let seq = head.seq + 1
        let seqKey = EventsSchema.seqKey(seq)
        if let requestId {
            let requests = events.table(EventsSchema.requests)
            let key = UUIDText.bytes(requestId)
            guard let raw = try eventsTxn.get(key, in: requests), var record = RequestRecord(encoded: raw),
                record.pseudonym == pseudonym, record.kind == .erasure, record.status == .open
            else {
                throw LedgerError(
                    .requestNotOpen,
                    "request \(requestId) is not an open erasure request of this subject"
                )
            }
            record.status = .completed
            record.closedAt = recordedAt
            try eventsTxn.put(record.encoded, forKey: key, in: requests)
        }
        var event = StoredEvent(
            seq: seq,
            eventId: UUIDText.random(from: options.random.bytes(16)),
            type: .erasureCompleted,
            subject: Hex.encode(pseudonym),
            purpose: "",
            notice: "",
            requestId: requestId ?? "",
            occurredAt: recordedAt,
            recordedAt: recordedAt,
            expiresAt: nil,
            actor: actor,
            payload: [],
            prevHash: head.hash,
            hash: []
        )
        event.seal()
        guard try eventsTxn.insert(event.record, forKey: seqKey, in: events.table(EventsSchema.log), append: true)
        else {
            throw LedgerError(.ledgerCorrupt, "seq \(seq) exists already though the head is \(head.seq)")
        }
        try eventsTxn.put(seqKey, forKey: UUIDText.bytes(event.eventId), in: events.table(EventsSchema.eventIds))
        try SubjectIndex.insert(pseudonym: pseudonym, seq: seq, in: eventsTxn, events: events)
        try MerkleStore.append(
            eventHash: event.hash,
            previousHash: event.prevHash,
            seq: seq,
            in: eventsTxn,
            events: events
        )
        try MerkleStore.setSize(seq, in: eventsTxn, events: events)
        try eventsTxn.put(seqKey, forKey: pseudonym, in: events.table(EventsSchema.erased))
        try eventsTxn.put(seqKey, forKey: pseudonym, in: events.table(EventsSchema.pendingErasures))
        try eventsTxn.put(
            ChainHead(seq: seq, hash: event.hash, recordedAt: recordedAt).encoded,
            forKey: EventsSchema.MetaKey.head,
            in: events.table(EventsSchema.meta)
        )
        try notifyObservers(txn: eventsTxn.txn, head: seq)
        return event
    }

    private func clearPendingErasure(_ pseudonym: [UInt8]) throws {
        try storage {
            try events.write { txn in try txn.delete(pseudonym, in: events.table(EventsSchema.pendingErasures)) }
        }
    }

    /// Finishes erasures that a crash interrupted after their event was committed: deletes the keys
    /// still present, clears the markers and compacts the key store. Runs at every open.
    func repairInterruptedErasures() throws {
        let pending: [[UInt8]] = try storage {
            try events.read { txn in
                var found: [[UInt8]] = []
                try txn.forEach(in: events.table(EventsSchema.pendingErasures)) { key, _ in
                    found.append(Array(key))
                    return true
                }
                return found
            }
        }
        guard !pending.isEmpty else { return }
        try storage {
            try keyStore.withEnvironment { keys in
                try keys.write { txn in
                    for pseudonym in pending {
                        try keyStore.deleteSubject(pseudonym: pseudonym, in: txn, environment: keys)
                        subjectKeyCache.evict(pseudonym)
                    }
                }
            }
        }
        for pseudonym in pending { try clearPendingErasure(pseudonym) }
        logger.info("repaired interrupted erasures", metadata: ["count": "\(pending.count)"])
        try? compactKeyStore()
    }

    /// Rewrites the key store with a compacting copy (SPEC §6), so freed pages keep no deleted key.
    /// - Throws: ``LedgerError`` `ledger_locked` when another process keeps the store open; the
    ///   compaction then happens at the next open.
    public func compactKeyStore() throws {
        try keyStore.compact()
    }

    /// Whether the subject with this pseudonym has been erased.
    public func isErased(pseudonym: String) throws -> Bool {
        guard let raw = Hex.decode(pseudonym), raw.count == 16 else { return false }
        return try storage { try events.read { try $0.get(raw, in: events.table(EventsSchema.erased)) != nil } }
    }
}
