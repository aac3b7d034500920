import Foundation

extension Ledger {
    /// Executes an erasure by crypto-shredding (SPEC §6): appends `erasure.completed` (closing the
    /// named open erasure request), then overwrites the subject's key slot and lookup buckets in
    /// place and flushes them, then deletes its slot number (docs/ERASURE.md, "Key slots"). It
    /// returns once all three are done; the work is the same at any number of subjects, and
    /// nothing is copied.
    ///
    /// The three steps are ``recordErasure(subject:requestId:actor:)``,
    /// ``shredKey(of:)`` and ``finishErasure(_:)``; each holds a writer lock only for its own
    /// commit, so appends go on between them (the server runs the second off its writer thread).
    /// A crash between them leaves the erasure's pending marker, and the next open finishes it.
    ///
    /// - Parameters:
    ///   - externalId: The subject's external id.
    ///   - requestId: An open erasure request of the subject to close, if any.
    ///   - actor: Who executes the erasure.
    /// - Throws: ``LedgerError`` `subject_not_found`, `request_not_open`, `invalid_field`; after the
    ///   event, `ledger_full` or `io_error` when the slot could not be overwritten (the next open
    ///   finishes the erasure, and so does the same call again: it answers the same event, when it
    ///   names no request or the one that event closed, and `request_not_open` when it names another).
    public func erase(subject externalId: String, requestId: String?, actor: String) throws -> ErasureResult {
        let recorded = try recordErasure(subject: externalId, requestId: requestId, actor: actor)
        try shredKey(of: recorded)
        try finishErasure(recorded)
        return recorded.result
    }

    /// An erasure's first step: appends its event and a pending marker, in one commit of the log.
    /// From then on the subject is erased to every reader and append (an append that finds the
    /// subject's key still there deletes it and makes a new subject), and the next open finishes
    /// the erasure if this process does not.
    package func recordErasure(
        subject externalId: String,
        requestId: String?,
        actor: String
    ) throws
        -> RecordedErasure
    {
        try ClientEvent.checkExternalId(externalId)
        let requestId = try requestId.map { text in
            guard let id = UUIDText.canonical(text) else {
                throw LedgerError(.invalidField, "requestId must be a UUID")
            }
            return id
        }
        let lookup = try keyStore.lookupHash(of: externalId)
        // The key store's writer lock is held while the event commits (its transaction writes
        // nothing): a backup copies the key store holding it, so every erasure whose key may be
        // missing from its copy is already in the log it copies (Ledger+Backup.swift).
        let recorded = try storage {
            try keyStore.withEnvironment { keys in
                try keys.write { keysTxn in
                    try events.write { txn in
                        guard
                            let pseudonym = try keyStore.pseudonym(lookupHash: lookup, in: keysTxn, environment: keys)
                        else {
                            // Its buckets may be gone while its slot is not (an overwrite that
                            // failed midway): a pending erasure whose slot holds this lookup hash.
                            if let pending = try pendingErasure(
                                withLookupHash: lookup,
                                requestId: requestId,
                                keys: keys,
                                keysTxn: keysTxn,
                                txn: txn
                            ) {
                                return pending
                            }
                            throw LedgerError(
                                .subjectNotFound,
                                "no subject has this external id (it may have been erased)"
                            )
                        }
                        if try isErased(pseudonym, in: txn) {
                            // Its key is still there: the erasure's overwrite failed (a full disk, an
                            // I/O error) or is under way in another process. Finished again, and
                            // answered with its event: a retry completes it.
                            return try recordedErasure(of: pseudonym, requestId: requestId, in: txn)
                        }
                        let event = try appendErasureEvent(
                            pseudonym: pseudonym,
                            requestId: requestId,
                            actor: actor,
                            eventsTxn: txn
                        )
                        Failpoint.hit("erase.beforeEvent")
                        return RecordedErasure(
                            result: ErasureResult(seq: event.seq, pseudonym: event.pseudonym, hash: event.hash),
                            pseudonym: pseudonym
                        )
                    }
                }
            }
        }
        Failpoint.hit("erase.afterEvent")
        logger.debug(
            "erasure recorded",
            metadata: ["pseudonym": "\(recorded.result.pseudonym)", "seq": "\(recorded.result.seq)"]
        )
        return recorded
    }

    /// An erasure's second step, once its event is in the log: overwrites the subject's slot and
    /// lookup buckets in place, holding the key store's writer lock only for those few writes, and
    /// flushes them holding no lock (appends, and the reads of other subjects, go on). Once it
    /// returns, no file of the key store holds the subject's key or lookup hash.
    package func shredKey(of erasure: RecordedErasure) throws {
        try storage {
            try keyStore.withEnvironment { keys in
                _ = try keyStore.shred(pseudonym: erasure.pseudonym, environment: keys)
            }
        }
        subjectKeyCache.evict(erasure.pseudonym)
        Failpoint.hit("erase.afterSlot")
    }

    /// An erasure's last step: deletes the subject's slot number from the key store, then its
    /// pending marker from the log, each in a commit of its own.
    package func finishErasure(_ erasure: RecordedErasure) throws {
        try storage {
            try keyStore.withEnvironment { keys in
                try keys.write { txn in
                    _ = try keyStore.deleteSubject(
                        pseudonym: erasure.pseudonym,
                        in: txn,
                        environment: keys,
                        overwriting: false
                    )
                }
            }
        }
        subjectKeyCache.evict(erasure.pseudonym)
        Failpoint.hit("erase.afterKeyDeletion")
        try clearPendingErasure(erasure.pseudonym)
    }

    /// The pending erasure whose subject's slot still holds `lookupHash`, if any (pending erasures
    /// are few: those not finished yet); `request_not_open` when `requestId` is not the request it
    /// closed (``recordedErasure(of:requestId:in:)``).
    private func pendingErasure(
        withLookupHash lookupHash: [UInt8],
        requestId: String?,
        keys: Environment,
        keysTxn: borrowing WriteTransaction,
        txn: borrowing WriteTransaction
    ) throws -> RecordedErasure? {
        for pseudonym in try pendingErasures(in: txn) {
            guard let record = try? keyStore.wrappedKey(pseudonym: pseudonym, in: keysTxn, environment: keys),
                Array(record[60..<92]) == lookupHash
            else { continue }
            return try recordedErasure(of: pseudonym, requestId: requestId, in: txn)
        }
        return nil
    }

    /// The erasure of `pseudonym` already in the log, while its pending marker says its key may
    /// still be there; `subject_not_found` when it is finished.
    ///
    /// A retry naming no request, or the request that erasure closed, is answered with it. A retry
    /// naming another request is refused with `request_not_open`: that erasure did not close it,
    /// and no event can close a request of an erased subject (an append's external id is a new
    /// subject by then), so answering the earlier erasure would claim a closure that never
    /// happened.
    private func recordedErasure(
        of pseudonym: [UInt8],
        requestId: String?,
        in txn: borrowing WriteTransaction
    ) throws -> RecordedErasure {
        guard let marker = try txn.get(pseudonym, in: events.table(EventsSchema.pendingErasures)),
            let seq = marker.withUnsafeBytes({ EventsSchema.seq(fromKey: $0) }),
            let record = try txn.get(EventsSchema.seqKey(seq), in: events.table(EventsSchema.log)), record.count >= 32
        else {
            throw LedgerError(.subjectNotFound, "no subject has this external id (it may have been erased)")
        }
        if let requestId {
            guard let event = record.withUnsafeBytes({ StoredEvent(record: $0) }) else {
                throw LedgerError(.ledgerCorrupt, "the erasure event at seq \(seq) cannot be decoded")
            }
            guard event.requestId == requestId else {
                throw LedgerError(
                    .requestNotOpen,
                    "request \(requestId) is not an open erasure request of this subject: the subject is already "
                        + "erased (seq \(seq)), and its erasure did not close that request"
                )
            }
        }
        return RecordedErasure(
            result: ErasureResult(seq: seq, pseudonym: Hex.encode(pseudonym), hash: Hex.encode(Array(record[0..<32]))),
            pseudonym: pseudonym
        )
    }

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
        let pending = try storage { try events.read { try pendingErasures(in: $0) } }
        guard !pending.isEmpty else { return }
        try storage {
            try keyStore.withEnvironment { keys in
                try keys.write { txn in
                    for pseudonym in pending {
                        try keyStore.deleteSubject(pseudonym: pseudonym, in: txn, environment: keys)
                        subjectKeyCache.evict(pseudonym)
                    }
                    try keyStore.commitSlots()
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

    /// The pseudonyms whose erasures are recorded and not yet finished (their pending markers).
    func pendingErasures(in txn: borrowing some KeyValueReading & ~Copyable) throws -> [[UInt8]] {
        var found: [[UInt8]] = []
        try txn.forEach(in: events.table(EventsSchema.pendingErasures)) { key, _ in
            found.append(Array(key))
            return true
        }
        return found
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

/// An erasure whose event is in the log and whose key is still to be destroyed: what
/// ``Ledger/recordErasure(subject:requestId:actor:)`` hands to ``Ledger/shredKey(of:)`` and
/// ``Ledger/finishErasure(_:)``.
package struct RecordedErasure: Sendable {
    /// What the erasure answers once it is finished.
    package let result: ErasureResult
    let pseudonym: [UInt8]
}
