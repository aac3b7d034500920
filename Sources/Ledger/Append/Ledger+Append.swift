import Crypto
import Foundation

extension Ledger {
    /// The most events one append (one NDJSON batch, one import chunk) may hold.
    public static let maxBatchSize = 10_000
    /// How far `occurredAt` may lie after `recordedAt`.
    public static let occurredAtTolerance = 5  // minutes

    /// Appends `batch` atomically: every event is validated in order (each line sees the lines
    /// before it), then all are appended in one write transaction, committed with fsync before this
    /// returns; or nothing is appended and the first refused line's error is thrown.
    ///
    /// - Parameters:
    ///   - batch: Client events, already decoded by ``ClientEvent/decode(json:catalogue:)``.
    ///   - actor: Who appends, set by the caller from an authenticated identity.
    /// - Returns: One result per event, in order; replays of earlier events are marked.
    /// - Throws: ``LedgerError`` with `line` set to the 1-based index of the refused event.
    public func append(_ batch: [ClientEvent], actor: String) throws -> [AppendResult] {
        let prepared = try prepare(batch, onEveryCore: true)
        let results = try commit([(prepared.events, actor)], isolatingBatches: false)[0].get()
        logger.debug("appended", metadata: ["events": "\(results.count)", "head": "\(results.last?.seq ?? 0)"])
        return results
    }

    /// Does the part of appending `events` that needs no write transaction — each subject's lookup
    /// hash and payload plaintext, its event id and nonce, who the subject is (a read of the key
    /// store; new subjects are made but not stored) and the payload sealed under the subject's
    /// key — so a caller can do it on its own thread before handing the batch to the single writer
    /// (``appendGroup(_:)``), which then only checks, chains and stores.
    /// - Throws: ``LedgerError`` `batch_too_large` over ``maxBatchSize`` events; `key_missing`
    ///   without the master key.
    public func prepare(_ events: [ClientEvent]) throws -> PreparedBatch {
        try prepare(events, onEveryCore: false)
    }

    func prepare(_ events: [ClientEvent], onEveryCore: Bool) throws -> PreparedBatch {
        guard events.count <= Ledger.maxBatchSize else {
            throw LedgerError(
                .batchTooLarge,
                "a batch holds at most \(Ledger.maxBatchSize) events; this one has \(events.count)"
            )
        }
        let keyStore = self.keyStore
        try keyStore.requireMasterKey()
        let threshold = onEveryCore ? 64 : Int.max
        let basics = try Parallel.map(events, threshold: threshold) { event in
            (lookup: try keyStore.lookupHash(of: event.subject), plaintext: event.payloadPlaintext)
        }
        // The time generated ids carry: the recordedAt the batch gets unless another commits first.
        let now = options.clock.now()
        let recordedAt = max(now, try head().recordedAt ?? now)
        // All the batch's randomness for ids and nonces in one draw: 16 bytes for an id, 12 for a nonce.
        let entropy = options.random.bytes(events.count * 28)
        let subjects = try preparedSubjects(basics.map(\.lookup), onEveryCore: onEveryCore)
        let prepared = try Parallel.map(Array(events.indices), threshold: threshold) { index -> PreparedEvent in
            let event = events[index]
            let drawn = index * 28
            let eventId =
                event.eventId ?? UUIDText.timeOrdered(at: recordedAt, random: Array(entropy[drawn..<(drawn + 16)]))
            let nonce = Array(entropy[(drawn + 16)..<(drawn + 28)])
            let subject = subjects[index]
            return PreparedEvent(
                event: event,
                lookup: basics[index].lookup,
                plaintext: basics[index].plaintext,
                eventId: eventId,
                nonce: nonce,
                subject: subject,
                payload: try PayloadCipher.seal(
                    basics[index].plaintext,
                    key: subject.subjectKey,
                    nonce: nonce,
                    eventId: eventId,
                    pseudonym: subject.hex
                )
            )
        }
        return PreparedBatch(events: prepared, ledgerId: ledgerId)
    }

    /// Who each lookup hash's subject is, as the key store says now, one ``PreparedSubject`` per
    /// distinct hash: an existing subject with its key (from the cache, or unwrapped on every
    /// core), or a new one made for it, in the order the batch first names them.
    private func preparedSubjects(_ lookups: [[UInt8]], onEveryCore: Bool) throws -> [PreparedSubject] {
        enum Found: Sendable {
            case cached([UInt8], Pseudonym, SymmetricKey)
            case wrapped([UInt8], Pseudonym, record: [UInt8])
            case new(KeyStore.NewSubject, Pseudonym)
        }
        let keyStore = self.keyStore
        var distinct: [Found] = []
        var slot: [LookupKey: Int] = [:]
        var slots: [Int] = []
        slots.reserveCapacity(lookups.count)
        try storage {
            try keyStore.withEnvironment { keys in
                try keys.read { txn in
                    for lookup in lookups {
                        if let known = slot[LookupKey(lookup)] {
                            slots.append(known)
                            continue
                        }
                        slot[LookupKey(lookup)] = distinct.count
                        slots.append(distinct.count)
                        if let pseudonym = try keyStore.pseudonym(lookupHash: lookup, in: txn, environment: keys),
                            let key = Pseudonym(pseudonym)
                        {
                            if let cached = subjectKeyCache.keys(for: key) {
                                distinct.append(.cached(pseudonym, key, cached))
                                continue
                            }
                            if let record = try keyStore.wrappedKey(pseudonym: pseudonym, in: txn, environment: keys) {
                                distinct.append(.wrapped(pseudonym, key, record: record))
                                continue
                            }
                        }
                        // Unknown (or a lookup entry without a key, which the write transaction
                        // refuses): a new subject, stored only if the writer still finds none.
                        let made = try keyStore.makeSubject(
                            lookupHash: lookup,
                            random: options.random,
                            in: txn,
                            environment: keys
                        )
                        guard let key = Pseudonym(made.pseudonym) else {
                            throw LedgerError(.internal, "a new pseudonym is not 16 bytes")
                        }
                        distinct.append(.new(made, key))
                    }
                }
            }
        }
        let resolved = try Parallel.map(distinct, threshold: onEveryCore ? 16 : Int.max) { found in
            switch found {
            case .cached(let pseudonym, let key, let subjectKey):
                return PreparedSubject(pseudonym: pseudonym, key: key, subjectKey: subjectKey, new: nil)
            case .wrapped(let pseudonym, let key, let record):
                let subjectKey = try keyStore.unwrap(record, pseudonym: pseudonym)
                return PreparedSubject(pseudonym: pseudonym, key: key, subjectKey: subjectKey, new: nil)
            case .new(let made, let key):
                return PreparedSubject(pseudonym: made.pseudonym, key: key, subjectKey: made.key, new: made)
            }
        }
        subjectKeyCache.store(
            zip(distinct, resolved).compactMap { found, subject in
                if case .wrapped = found { return (subject.key, subject.subjectKey) }
                return nil
            }
        )
        return slots.map { resolved[$0] }
    }

    /// Group commit: appends several independent batches, each made by ``prepare(_:)``, in one
    /// write transaction and one fsync. Each batch runs in a nested transaction of its own, so a
    /// refused batch is rolled back alone and the others commit; each batch sees the ones before
    /// it (an idempotent retry queued behind its original gets the original's answer).
    /// - Returns: Each batch's results or its refusal, in order.
    public func appendGroup(
        _ batches: [(events: PreparedBatch, actor: String)]
    ) throws
        -> [Result<[AppendResult], LedgerError>]
    {
        for batch in batches { try checkPreparedHere(batch.events) }
        return try commit(batches.map { ($0.events.events, $0.actor) }, isolatingBatches: true)
    }

    /// Refuses a batch another ledger prepared: its subjects are pseudonyms of that ledger's key
    /// store, which the writer takes as found (a programming error, never a client's).
    func checkPreparedHere(_ batch: PreparedBatch) throws {
        guard batch.ledgerId == ledgerId else {
            throw LedgerError(.internal, "a batch prepared by another ledger cannot be appended to this one")
        }
    }

    /// Appends `batches` in one write transaction per environment, committed with fsync, keys
    /// first: an event must never reference a subject key that was not stored. With
    /// `isolatingBatches`, each batch runs in a nested transaction and a refusal rolls back only
    /// that batch; without, the first refusal is thrown and nothing is appended.
    func commit(
        _ batches: [(events: [PreparedEvent], actor: String)],
        isolatingBatches: Bool
    ) throws
        -> [Result<[AppendResult], LedgerError>]
    {
        do {
            return try commitPaired(batches, isolatingBatches: isolatingBatches)
        } catch {
            // A commit that failed after its new subjects' slots were flushed (a full disk at that
            // instant) leaves them past the slots in use: erased now, not at the next open.
            _ = try? keyStore.clearAbandonedSlots()
            throw error
        }
    }

    private func commitPaired(
        _ batches: [(events: [PreparedEvent], actor: String)],
        isolatingBatches: Bool
    ) throws
        -> [Result<[AppendResult], LedgerError>]
    {
        try storage {
            try keyStore.withEnvironment { keys in
                try events.writePaired(keys: keys, failpoints: Self.appendFailpoints) { txn in
                    do {
                        let outcomes = try commitBody(batches, isolatingBatches: isolatingBatches, keys: keys, txn: txn)
                        // The new subjects' slots reach the disk before anything refers to them.
                        try keyStore.commitSlots()
                        return outcomes
                    } catch {
                        // Still holding the writer lock: no other writer has taken these slots.
                        try? keyStore.discardSlots()
                        throw error
                    }
                }
            }
        }
    }

    /// The appends of ``commit(_:isolatingBatches:)`` in its transactions.
    private func commitBody(
        _ batches: [(events: [PreparedEvent], actor: String)],
        isolatingBatches: Bool,
        keys: Environment,
        txn: borrowing PairedWriteTransaction
    ) throws -> [Result<[AppendResult], LedgerError>] {
        var createdSubjects: UInt64 = 0
        var outcomes: [Result<[AppendResult], LedgerError>] = []
        let now = options.clock.now()
        for (events, actor) in batches {
            guard !events.isEmpty else {
                outcomes.append(.success([]))
                continue
            }
            var appender = BatchAppender(ledger: self, keys: keys, actor: actor, now: now)
            guard isolatingBatches else {
                // A refusal throws out of the transactions, which then abort.
                outcomes.append(.success(try appender.run(events, keysTxn: txn.keys, eventsTxn: txn.log)))
                createdSubjects += appender.createdSubjects
                continue
            }
            let slotMark = keyStore.slotMark
            do {
                let results = try txn.nested { child in
                    try appender.run(events, keysTxn: child.keys, eventsTxn: child.log)
                }
                outcomes.append(.success(results))
                createdSubjects += appender.createdSubjects
            } catch let error as LedgerError where LMDBError.mapGrowthSignal(in: error) == nil {
                // A refusal of this batch alone. A full map is no refusal: it leaves
                // this loop so the map grows and the whole group runs again. The batch's
                // new subjects are rolled back with it: so are their slots, now.
                try keyStore.discardSlots(after: slotMark)
                outcomes.append(.failure(error))
            }
        }
        if createdSubjects > 0 {
            // Both stores count the subjects created; keys commit first, so the key
            // store's count never lags the log's (checked at every open).
            try keyStore.recordCreated(createdSubjects, in: txn.keys, environment: keys)
            try recordCreated(createdSubjects, in: txn.log)
        }
        return outcomes
    }

    /// The crash tests' points around an append's two commits.
    private static let appendFailpoints = CommitFailpoints(
        beforeFirst: "append.beforeCommit",
        between: "append.betweenCommits",
        afterBoth: "append.afterCommit"
    )
}

/// A lookup hash as a dictionary key. It is an HMAC output, so its first eight bytes hash as
/// well as all 32 (the array's own hashing feeds the hasher byte by byte).
private struct LookupKey: Hashable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func hash(into hasher: inout Hasher) {
        var prefix: UInt64 = 0
        for byte in bytes.prefix(8) { prefix = prefix << 8 | UInt64(byte) }
        hasher.combine(prefix)
    }
}

/// One append's work inside its transactions: validate and resolve in order (pass 1), unwrap
/// the subject keys preparation did not have in parallel (pass 2), encode — and encrypt again
/// the payloads whose subject changed since preparation — in parallel (pass 3), chain, store and
/// index in order (pass 4).
struct BatchAppender {
    let ledger: Ledger
    let keys: Environment
    let actor: String
    let now: Timestamp
    /// How many subjects this batch created.
    private(set) var createdSubjects: UInt64 = 0
    /// Keys of the subjects this batch touches, unwrapped once.
    private var subjectKeys: [Pseudonym: SymmetricKey] = [:]
    /// Stored key records still to unwrap, by pseudonym.
    private var toUnwrap: [Pseudonym: (bytes: [UInt8], record: [UInt8])] = [:]
    /// The new subjects preparation made that this batch stored.
    private var storedNew = Set<Pseudonym>()
    /// The subjects ``resolveSubject(of:keysTxn:eventsTxn:)`` has resolved in this batch: the
    /// erased check runs on each one's first event, even when a retry's comparison (the replay
    /// path, ``key(for:keysTxn:)``) unwrapped its key before.
    private var resolved = Set<Pseudonym>()

    init(ledger: Ledger, keys: Environment, actor: String, now: Timestamp) {
        self.ledger = ledger
        self.keys = keys
        self.actor = actor
        self.now = now
    }

    /// An event that passed validation, with everything the later passes need. A class, so the
    /// parallel passes copy one reference instead of its strings and arrays.
    final class Accepted: Sendable {
        let index: Int
        let seq: UInt64
        let eventId: String
        let pseudonym: [UInt8]
        let key: Pseudonym
        let pseudonymHex: String
        let occurredAt: Timestamp
        let nonce: [UInt8]
        let requestOpensDueAt: Timestamp?
        /// Whether the payload sealed at preparation is this event's: its subject is still the one
        /// preparation found or made.
        let presealed: Bool

        init(
            index: Int,
            seq: UInt64,
            eventId: String,
            pseudonym: [UInt8],
            key: Pseudonym,
            pseudonymHex: String,
            occurredAt: Timestamp,
            nonce: [UInt8],
            requestOpensDueAt: Timestamp?,
            presealed: Bool
        ) {
            self.index = index
            self.seq = seq
            self.eventId = eventId
            self.pseudonym = pseudonym
            self.key = key
            self.pseudonymHex = pseudonymHex
            self.occurredAt = occurredAt
            self.nonce = nonce
            self.requestOpensDueAt = requestOpensDueAt
            self.presealed = presealed
        }
    }

    /// Where each line's answer comes from.
    private enum Outcome {
        case accepted(Int)
        case replay(AppendResult)
    }

    mutating func run(
        _ batch: [PreparedEvent],
        keysTxn: borrowing WriteTransaction,
        eventsTxn: borrowing WriteTransaction
    ) throws -> [AppendResult] {
        let head = try ledger.readHead(in: eventsTxn)
        let catalogue = try ledger.catalogue(in: eventsTxn)
        let recordedAt = max(now, head.recordedAt ?? now)
        var accepted: [Accepted] = []
        accepted.reserveCapacity(batch.count)
        var outcomes: [Outcome] = []
        var batchEventIds: [String: Int] = [:]  // eventId → index into `accepted`

        // Pass 1: validate in order; request records are written as we go so later lines see them.
        for (index, prepared) in batch.enumerated() {
            let event = prepared.event
            do {
                try event.checkCatalogue(catalogue)
                let occurredAt = event.occurredAt ?? recordedAt
                if occurredAt > recordedAt.adding(minutes: Ledger.occurredAtTolerance) {
                    throw LedgerError(
                        .occurredInFuture,
                        "occurredAt \(occurredAt.rfc3339) is more than \(Ledger.occurredAtTolerance) minutes after the ledger's time \(recordedAt.rfc3339)"
                    )
                }
                if let expiresAt = event.expiresAt, expiresAt <= occurredAt {
                    throw LedgerError(.invalidField, "expiresAt must be after occurredAt")
                }
                if let eventId = event.eventId {
                    if let earlier = batchEventIds[eventId] {
                        guard batch[accepted[earlier].index].event == event else {
                            throw LedgerError(
                                .eventIdConflict,
                                "eventId \(eventId) appears earlier in this batch with other content"
                            )
                        }
                        outcomes.append(.accepted(earlier))
                        continue
                    }
                    if let replay = try replayResult(
                        of: prepared,
                        eventId: eventId,
                        keysTxn: keysTxn,
                        eventsTxn: eventsTxn
                    ) {
                        outcomes.append(.replay(replay))
                        continue
                    }
                }
                let subject = try resolveSubject(of: prepared, keysTxn: keysTxn, eventsTxn: eventsTxn)
                let pseudonym = subject.pseudonym
                let pseudonymKey = subject.key
                let presealed = subject.presealed
                let prepSubject = prepared.subject
                let seq = head.seq + UInt64(accepted.count) + 1
                let eventId = prepared.eventId
                let dueAt = try applyRequestRules(
                    event,
                    eventId: eventId,
                    seq: seq,
                    pseudonym: pseudonym,
                    occurredAt: occurredAt,
                    catalogue: catalogue,
                    eventsTxn: eventsTxn
                )
                if let id = event.eventId { batchEventIds[id] = accepted.count }
                outcomes.append(.accepted(accepted.count))
                accepted.append(
                    Accepted(
                        index: index,
                        seq: seq,
                        eventId: eventId,
                        pseudonym: pseudonym,
                        key: pseudonymKey,
                        pseudonymHex: presealed ? prepSubject.hex : Hex.encode(pseudonym),
                        occurredAt: occurredAt,
                        nonce: prepared.nonce,
                        requestOpensDueAt: dueAt,
                        presealed: presealed
                    )
                )
            } catch let error as LedgerError {
                throw error.atLine(index + 1)
            }
        }

        // Pass 2: unwrap the keys of the subjects this batch touches, on every core.
        let keyStore = ledger.keyStore
        let unwrapped = try Parallel.map(Array(toUnwrap), threshold: 16) { key, stored in
            (key, try keyStore.unwrap(stored.record, pseudonym: stored.bytes))
        }
        for (pseudonym, keys) in unwrapped { subjectKeys[pseudonym] = keys }
        ledger.subjectKeyCache.store(unwrapped)
        toUnwrap.removeAll()

        // Pass 3: the records' chain-independent bytes, and the payloads preparation sealed for
        // another subject sealed again, on every core.
        let keyTable = subjectKeys
        let actor = self.actor
        let sealed = try Parallel.map(accepted) { item -> (tail: [UInt8], eventIdKey: [UInt8]) in
            let prepared = batch[item.index]
            let event = prepared.event
            let payload: [UInt8]
            if item.presealed {
                payload = prepared.payload
            } else {
                guard let key = keyTable[item.key] else {
                    throw LedgerError(.internal, "a subject key was not resolved")
                }
                payload = try PayloadCipher.seal(
                    prepared.plaintext,
                    key: key,
                    nonce: item.nonce,
                    eventId: item.eventId,
                    pseudonym: item.pseudonymHex
                )
            }
            let tail = ChainHash.tail(
                seq: item.seq,
                eventId: item.eventId,
                type: event.type.rawValue,
                subject: item.pseudonymHex,
                purpose: event.purpose ?? "",
                notice: event.notice ?? "",
                requestId: event.requestId ?? "",
                occurredAt: item.occurredAt.milliseconds,
                recordedAt: recordedAt.milliseconds,
                expiresAt: event.expiresAt?.milliseconds ?? 0,
                actor: actor,
                payload: payload
            )
            return (tail, UUIDText.bytes(item.eventId))
        }

        // Pass 4: chain, store and index in order, through the one log writer.
        var log = LogAppender(ledger: ledger, head: head, recordedAt: recordedAt)
        var stored: [AppendResult] = []
        stored.reserveCapacity(accepted.count)
        for (item, seal) in zip(accepted, sealed) {
            let hash = try log.append(
                tail: seal.tail,
                seq: item.seq,
                eventIdKey: seal.eventIdKey,
                pseudonym: item.pseudonym,
                in: eventsTxn
            )
            stored.append(
                AppendResult(
                    seq: item.seq,
                    eventId: item.eventId,
                    hashBytes: hash,
                    recordedAt: recordedAt,
                    subject: item.pseudonymHex,
                    requestId: item.requestOpensDueAt == nil ? nil : item.eventId,
                    dueAt: item.requestOpensDueAt,
                    replayed: false
                )
            )
        }
        try log.finish(in: eventsTxn)
        return outcomes.map { outcome in
            switch outcome {
            case .accepted(let index): return stored[index]
            case .replay(let result): return result
            }
        }
    }

    // MARK: Subjects and keys

    /// Who an event's subject is inside the write transaction, and whether the payload
    /// preparation sealed is its own.
    private struct ResolvedSubject {
        let pseudonym: [UInt8]
        let key: Pseudonym
        /// Whether the payload sealed at preparation is this event's: its subject is still the
        /// one preparation found, or the new one preparation made and this batch stored.
        let presealed: Bool
    }

    /// Resolves `prepared`'s subject in the key store's transaction — an existing subject, the new
    /// one preparation made (stored now), or one created now — and makes sure its key will be
    /// known to the later passes: resolved from preparation or the cache, or queued for pass 2.
    /// Each subject costs one dictionary lookup after its first event.
    /// - Throws: ``LedgerError`` `request_not_open` for an event naming a request of a subject
    ///   the ledger does not know (before anything is created for it).
    private mutating func resolveSubject(
        of prepared: PreparedEvent,
        keysTxn: borrowing WriteTransaction,
        eventsTxn: borrowing WriteTransaction
    ) throws -> ResolvedSubject {
        let keyStore = ledger.keyStore
        let prepSubject = prepared.subject
        // Preparation found this subject in a committed state of the key store. A lookup entry
        // is removed only with its subject's key, and only once the subject's erasure is in the
        // log (``Ledger/erase(subject:requestId:actor:)`` writes the log first; compaction keeps
        // every subject not erased): while the subject is not erased in this transaction, the
        // key store still maps the external id to it, and asking it again is not needed.
        if prepSubject.new == nil {
            if resolved.contains(prepSubject.key) {
                return ResolvedSubject(pseudonym: prepSubject.pseudonym, key: prepSubject.key, presealed: true)
            }
            if try !ledger.isErased(prepSubject.pseudonym, in: eventsTxn) {
                resolved.insert(prepSubject.key)
                if subjectKeys[prepSubject.key] == nil, toUnwrap[prepSubject.key] == nil {
                    subjectKeys[prepSubject.key] = prepSubject.subjectKey
                }
                return ResolvedSubject(pseudonym: prepSubject.pseudonym, key: prepSubject.key, presealed: true)
            }
        }
        if let found = try keyStore.pseudonym(lookupHash: prepared.lookup, in: keysTxn, environment: keys) {
            guard let key = Pseudonym(found) else {
                throw LedgerError(.ledgerCorrupt, "the key store holds a malformed pseudonym")
            }
            // Preparation's subject is this one when it found the same pseudonym, or made the one
            // this batch stored (sound: the pseudonym was found in this transaction, and a
            // pseudonym has one key).
            let presealed = key == prepSubject.key && (prepSubject.new == nil || storedNew.contains(key))
            if resolved.contains(key) {
                return ResolvedSubject(pseudonym: found, key: key, presealed: presealed)
            }
            // This batch's first event of an existing subject.
            if try !ledger.isErased(found, in: eventsTxn) {
                resolved.insert(key)
                if subjectKeys[key] != nil || toUnwrap[key] != nil {
                    // A retry's comparison unwrapped it already.
                } else if presealed {
                    subjectKeys[key] = prepSubject.subjectKey
                } else if let cached = ledger.subjectKeyCache.keys(for: key) {
                    // Sound because the lookup above found the subject in this transaction.
                    subjectKeys[key] = cached
                } else {
                    guard let record = try keyStore.wrappedKey(pseudonym: found, in: keysTxn, environment: keys)
                    else {
                        throw LedgerError(.ledgerCorrupt, "subject \(Hex.encode(found)) has a lookup entry but no key")
                    }
                    toUnwrap[key] = (found, record)
                }
                return ResolvedSubject(pseudonym: found, key: key, presealed: presealed)
            }
            // An erasure whose key deletion has not happened yet (interrupted by a crash, or still
            // to come on the shredder's queue): finish it here, so the external id becomes a new
            // subject (SPEC §6), never an event under a pseudonym whose key is about to go.
            try keyStore.deleteSubject(pseudonym: found, in: keysTxn, environment: keys)
            ledger.subjectKeyCache.evict(found)
            subjectKeys[key] = nil
            toUnwrap[key] = nil
        }
        if let requestId = prepared.event.requestId {
            // A request can only be one of a subject the ledger knows.
            throw LedgerError(.requestNotOpen, "request \(requestId) is not an open request of this subject")
        }
        if let made = prepSubject.new, try keyStore.store(made, in: keysTxn, environment: keys) {
            createdSubjects += 1
            storedNew.insert(prepSubject.key)
            resolved.insert(prepSubject.key)
            subjectKeys[prepSubject.key] = prepSubject.subjectKey
            return ResolvedSubject(pseudonym: made.pseudonym, key: prepSubject.key, presealed: true)
        }
        let created = try createSubject(lookup: prepared.lookup, keysTxn: keysTxn)
        resolved.insert(created.key)
        return ResolvedSubject(pseudonym: created.pseudonym, key: created.key, presealed: false)
    }

    /// A new subject: fresh pseudonym and key, stored in the key store's transaction.
    private mutating func createSubject(
        lookup: [UInt8],
        keysTxn: borrowing WriteTransaction
    ) throws -> (pseudonym: [UInt8], key: Pseudonym) {
        let created = try ledger.keyStore.createSubject(
            lookupHash: lookup,
            random: ledger.options.random,
            in: keysTxn,
            environment: keys
        )
        guard let key = Pseudonym(created.pseudonym) else {
            throw LedgerError(.internal, "a new pseudonym is not 16 bytes")
        }
        createdSubjects += 1
        subjectKeys[key] = created.key
        return (created.pseudonym, key)
    }

    /// A subject's key, unwrapped now if no pass has yet (the rare path that compares a retry).
    /// - Returns: `nil` when the subject has been erased.
    mutating func key(for pseudonym: [UInt8], keysTxn: borrowing WriteTransaction) throws -> SymmetricKey? {
        guard let key = Pseudonym(pseudonym) else { return nil }
        if let known = subjectKeys[key] { return known }
        let record =
            try toUnwrap.removeValue(forKey: key)?.record
            ?? ledger.keyStore.wrappedKey(pseudonym: pseudonym, in: keysTxn, environment: keys)
        guard let record else { return nil }
        let unwrapped = try ledger.keyStore.unwrap(record, pseudonym: pseudonym)
        subjectKeys[key] = unwrapped
        return unwrapped
    }

    // MARK: Requests

    /// Checks and records what the event does to requests; returns the due date of a request it opens.
    private func applyRequestRules(
        _ event: ClientEvent,
        eventId: String,
        seq: UInt64,
        pseudonym: [UInt8],
        occurredAt: Timestamp,
        catalogue: Catalogue,
        eventsTxn: borrowing WriteTransaction
    ) throws -> Timestamp? {
        let requests = ledger.events.table(EventsSchema.requests)
        if let kind = event.type.opensRequest {
            let record = RequestRecord.opened(
                kind: kind,
                pseudonym: pseudonym,
                seq: seq,
                occurredAt: occurredAt,
                deadlineDays: catalogue.requestDeadlineDays
            )
            try eventsTxn.put(record.encoded, forKey: UUIDText.bytes(eventId), in: requests)
            return record.dueAt
        }
        guard event.type.takesRequestId, let requestId = event.requestId else { return nil }
        let key = UUIDText.bytes(requestId)
        guard let raw = try eventsTxn.get(key, in: requests), var record = RequestRecord(encoded: raw),
            record.pseudonym == pseudonym, record.status == .open
        else { throw LedgerError(.requestNotOpen, "request \(requestId) is not an open request of this subject") }
        if let kind = event.type.closesRequest {
            guard record.kind == kind else {
                throw LedgerError(
                    .requestNotOpen,
                    "request \(requestId) is a \(record.kind.rawValue) request, not \(kind.rawValue)"
                )
            }
        } else {
            guard !record.extended else {
                throw LedgerError(.invalidField, "request \(requestId) was extended already; it can be extended once")
            }
            guard let newDue = event.expiresAt, newDue > record.dueAt else {
                throw LedgerError(
                    .invalidField,
                    "expiresAt must be later than the current due date \(record.dueAt.rfc3339)"
                )
            }
            let limit = record.originalDueAt.adding(days: catalogue.extensionLimitDays)
            guard newDue <= limit else {
                throw LedgerError(
                    .invalidField,
                    "expiresAt may be at most \(catalogue.extensionLimitDays) days past the original due date (\(limit.rfc3339))"
                )
            }
        }
        record.apply(event.type, at: occurredAt, expiresAt: event.expiresAt)
        try eventsTxn.put(record.encoded, forKey: key, in: requests)
        return nil
    }
}
