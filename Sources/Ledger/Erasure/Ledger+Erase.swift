import Foundation

extension Ledger {
    /// Executes an erasure by crypto-shredding (SPEC §6): appends `erasure.completed` (closing the
    /// named open erasure request), then deletes the subject's key and lookup entry, then compacts
    /// the key store so no freed page keeps them. It returns only when all three are done.
    ///
    /// When the compaction cannot be done (another process keeps the key store open past the wait,
    /// or the disk is full), the erasure event and the key deletion stand, a marker makes the next
    /// open (or `ledgerctl keys compact`) compact, and this throws: the erasure is not complete
    /// until no freed page can keep the key.
    ///
    /// - Parameters:
    ///   - externalId: The subject's external id.
    ///   - requestId: An open erasure request of the subject to close, if any.
    ///   - actor: Who executes the erasure.
    /// - Throws: ``LedgerError`` `subject_not_found`, `request_not_open`, `invalid_field`; after the
    ///   key deletion, `ledger_locked`, `ledger_full` or `io_error` when the compaction failed.
    public func erase(subject externalId: String, requestId: String?, actor: String) throws -> ErasureResult {
        let result = try recordErasure(subject: externalId, requestId: requestId, actor: actor)
        try completeErasure(result)
        return result
    }

    /// The first two steps of ``erase(subject:requestId:actor:)``: the erasure event, then the key
    /// deletion. The erasure is not done until ``completeErasure(_:)`` has compacted the key store;
    /// the server runs that off its writer thread, so appends go on meanwhile.
    package func recordErasure(subject externalId: String, requestId: String?, actor: String) throws -> ErasureResult {
        try erase(subject: externalId, requestId: requestId, actor: actor, interruptBeforeKeyDeletion: false)
    }

    /// The last step of an erasure recorded by ``recordErasure(subject:requestId:actor:)``: compacts
    /// the key store, so no freed page keeps the key. Erasures recorded meanwhile share a compaction.
    /// - Throws: ``LedgerError`` `ledger_locked`, `ledger_full` or `io_error` when the compaction
    ///   failed; the erasure event and the key deletion stand, and the next open compacts.
    package func completeErasure(_ result: ErasureResult) throws {
        Failpoint.hit("erase.beforeCompaction")
        do {
            try compactKeyStore()
        } catch {
            throw Self.incompleteErasure(result, error)
        }
    }

    /// The error of an erasure whose compaction failed with `error`.
    package static func incompleteErasure(_ result: ErasureResult, _ error: any Error) -> any Error {
        guard let error = error as? LedgerError else { return error }
        return LedgerError(
            error.code,
            "the erasure is recorded (seq \(result.seq)) and the subject's key deleted, but the key store could not be compacted, so a freed page may still hold the key: \(error.message). Run `ledgerctl keys compact` once the cause is gone; until then the next open retries it"
        )
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
                // between the commits leaves a marker that the next open repairs.
                try events.writePaired(
                    keys: keys,
                    order: .logBeforeKeys,
                    failpoints: Self.erasureFailpoints,
                    interruptingBetweenCommits: interruptBeforeKeyDeletion
                ) { txn in
                    guard let pseudonym = try keyStore.pseudonym(lookupHash: lookup, in: txn.keys, environment: keys)
                    else {
                        throw LedgerError(.subjectNotFound, "no subject has this external id (it may have been erased)")
                    }
                    // Before the key goes: a crash before the compaction has finished leaves the
                    // next open to compact.
                    try keyStore.markCompactionPending()
                    let event = try appendErasureEvent(
                        pseudonym: pseudonym,
                        requestId: requestId,
                        actor: actor,
                        eventsTxn: txn.log
                    )
                    try keyStore.deleteSubject(pseudonym: pseudonym, in: txn.keys, environment: keys)
                    subjectKeyCache.evict(pseudonym)
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
        try keyStore.markCompactionPending()
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
        // The deleted keys stay in freed pages until a compaction succeeds; when another process
        // keeps the store open, `keys/compact.pending` makes a later open or `keys compact` do it.
        do {
            try compactKeyStore()
        } catch let error as LedgerError where error.code == .ledgerLocked {
            logger.notice("key store compaction deferred", metadata: ["reason": "\(error.message)"])
        }
    }

    /// Rewrites the key store with a compacting copy (SPEC §6), so freed pages keep no deleted key.
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
