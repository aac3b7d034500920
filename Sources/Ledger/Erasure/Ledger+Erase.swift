import Foundation

extension Ledger {
    /// Executes an erasure by crypto-shredding (SPEC §6): appends `erasure.completed` (closing the
    /// named open erasure request), then overwrites the subject's key slot and lookup bucket in
    /// place and flushes them (docs/ERASURE.md, "Key slots"). It returns once both are done; the
    /// work is the same at any number of subjects, and nothing is copied.
    ///
    /// The key store's writer lock is held from before the event commits until the key is gone,
    /// so no append, backup or other erasure sees one without the other. A crash between the two
    /// leaves the erasure's pending marker, and the next open finishes it.
    ///
    /// - Parameters:
    ///   - externalId: The subject's external id.
    ///   - requestId: An open erasure request of the subject to close, if any.
    ///   - actor: Who executes the erasure.
    /// - Throws: ``LedgerError`` `subject_not_found`, `request_not_open`, `invalid_field`; after the
    ///   event, `ledger_full` or `io_error` when the slot could not be overwritten (the next open
    ///   finishes the erasure).
    public func erase(subject externalId: String, requestId: String?, actor: String) throws -> ErasureResult {
        try erase(subject: externalId, requestId: requestId, actor: actor, interruptBeforeKeyDeletion: false)
    }

    /// The erasure's event and key deletion, with a switch that stops it between its two commits
    /// as a crash would (tests only).
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
        let lookup = try keyStore.lookupHash(of: externalId)
        let result = try storage {
            try keyStore.withEnvironment { keys in
                // The erasure is recorded (with its pending marker) before the key goes: a crash
                // between the commits leaves a marker that the next open repairs. The slot is
                // overwritten only once the event is committed, never for an erasure that failed.
                var erased: [UInt8] = []
                return try events.writePaired(
                    keys: keys,
                    order: .logBeforeKeys,
                    failpoints: Self.erasureFailpoints,
                    interruptingBetweenCommits: interruptBeforeKeyDeletion,
                    betweenCommits: { keysTxn in
                        try keyStore.deleteSubject(pseudonym: erased, in: keysTxn, environment: keys)
                        subjectKeyCache.evict(erased)
                    }
                ) { txn in
                    guard let pseudonym = try keyStore.pseudonym(lookupHash: lookup, in: txn.keys, environment: keys),
                        try !isErased(pseudonym, in: txn.log)
                    else {
                        throw LedgerError(.subjectNotFound, "no subject has this external id (it may have been erased)")
                    }
                    let event = try appendErasureEvent(
                        pseudonym: pseudonym,
                        requestId: requestId,
                        actor: actor,
                        eventsTxn: txn.log
                    )
                    erased = pseudonym
                    return ErasureResult(seq: event.seq, pseudonym: event.pseudonym, hash: event.hash)
                }
            }
        }
        logger.debug("erasure executed", metadata: ["pseudonym": "\(result.pseudonym)", "seq": "\(result.seq)"])
        if interruptBeforeKeyDeletion { return result }
        try clearPendingErasure(Hex.decode(result.pseudonym) ?? [])
        return result
    }

    /// The crash tests' points around an erasure's two commits.
    private static let erasureFailpoints = CommitFailpoints(
        beforeFirst: "erase.beforeEvent",
        between: "erase.afterEvent",
        afterBoth: "erase.afterKeyDeletion"
    )

    private func appendErasureEvent(
        pseudonym: [UInt8],
        requestId: String?,
        actor: String,
        eventsTxn: borrowing WriteTransaction
    ) throws -> (seq: UInt64, pseudonym: String, hash: String) {
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
            record.apply(.erasureCompleted, at: recordedAt, expiresAt: nil)
            try eventsTxn.put(record.encoded, forKey: key, in: requests)
        }
        let eventId = UUIDText.random(from: options.random.bytes(16))
        let tail = ChainHash.tail(
            seq: seq,
            eventId: eventId,
            type: EventType.erasureCompleted.rawValue,
            subject: Hex.encode(pseudonym),
            purpose: "",
            notice: "",
            requestId: requestId ?? "",
            occurredAt: recordedAt.milliseconds,
            recordedAt: recordedAt.milliseconds,
            expiresAt: 0,
            actor: actor,
            payload: []
        )
        var log = LogAppender(ledger: self, head: head, recordedAt: recordedAt)
        let hash = try log.append(
            tail: tail,
            seq: seq,
            eventIdKey: UUIDText.bytes(eventId),
            pseudonym: pseudonym,
            in: eventsTxn
        )
        try eventsTxn.put(seqKey, forKey: pseudonym, in: events.table(EventsSchema.erased))
        try eventsTxn.put(seqKey, forKey: pseudonym, in: events.table(EventsSchema.pendingErasures))
        try log.finish(in: eventsTxn)
        return (seq, Hex.encode(pseudonym), Hex.encode(hash))
    }

    private func clearPendingErasure(_ pseudonym: [UInt8]) throws {
        try storage {
            try events.write { txn in try txn.delete(pseudonym, in: events.table(EventsSchema.pendingErasures)) }
        }
    }

    /// Finishes erasures that a crash interrupted after their event was committed: overwrites the
    /// slots still present, then clears the markers. Runs at every open.
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
    }

    /// Rewrites the key store's LMDB file with a compacting copy, reclaiming the space of erased
    /// subjects' slot numbers. Not part of an erasure: no page of that file holds anything an
    /// erasure must destroy (docs/ERASURE.md).
    /// - Throws: ``LedgerError`` `ledger_locked` when another process keeps the store open; the
    ///   compaction then happens at the next open.
    public func compactKeyStore() throws {
        try keyStore.compact(waitingUpTo: options.compactionWait)
    }

    /// The key store's record of a live subject, wrapped key (60 bytes) ‖ lookup hash (32 bytes),
    /// or `nil` once erased: what a byte scan after an erasure looks for (`ledger-bench --erasure`).
    package func storedKeyRecord(pseudonym: String) throws -> [UInt8]? {
        guard let raw = Hex.decode(pseudonym), raw.count == 16 else { return nil }
        return try storage {
            try keyStore.withEnvironment { keys in
                try keys.read { try keyStore.wrappedKey(pseudonym: raw, in: $0, environment: keys) }
            }
        }
    }

    /// Whether the erasure of `pseudonym` is in the log, read in `txn`.
    func isErased(_ pseudonym: [UInt8], in txn: borrowing some KeyValueReading & ~Copyable) throws -> Bool {
        try txn.get(pseudonym, in: events.table(EventsSchema.erased)) != nil
    }

    /// Whether the subject with this pseudonym has been erased.
    public func isErased(pseudonym: String) throws -> Bool {
        guard let raw = Hex.decode(pseudonym), raw.count == 16 else { return false }
        return try storage { try events.read { try $0.get(raw, in: events.table(EventsSchema.erased)) != nil } }
    }
}
