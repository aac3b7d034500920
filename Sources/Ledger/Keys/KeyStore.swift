import Crypto
import Foundation

/// The key store in `keys/` (SPEC §3, §6; docs/ERASURE.md): external-id lookup by keyed hash →
/// pseudonym, and each subject's 256-bit key wrapped (AES-256-GCM) by a key derived from the
/// master key.
///
/// Every byte that ties a person to their pseudonym or opens their data is in ``SubjectSlots``
/// (`keys/slots`, `keys/index`), which erasure overwrites in place. The LMDB environment beside
/// them (`keys/data.mdb`) holds only what a stale page may keep without harm, and gives the
/// slots their transactions:
/// - `subjects`: pseudonym → slot number (u64, big-endian)
/// - `meta`: `keyCheck2` → HMAC proving the master key matches this store; `subjectsCreated`;
///   `slots` → the slots' ``SubjectSlots/Geometry``; `compactionTracking` while a compaction
///   copies the environment
/// - `changes`: pseudonym → 1 for every subject stored or deleted while `compactionTracking` is
///   set, so the compaction can carry them into its copy
/// - `lookup`: empty; the first layout's lookup entries, read once to move them into slots
///
/// Erasure overwrites the subject's slot and index bucket and flushes them: constant work, with
/// no copy of anything. A store of the first layout (keys and lookup entries in LMDB, where only
/// a compacting copy could clear them) moves to slots when it is opened
/// (``migrateToSlots()``); ``compact(waitingUpTo:)`` still rewrites the LMDB file on demand,
/// which now only reclaims space.
final class KeyStore: @unchecked Sendable {
    // Invariant: `openEnvironment` is replaced only by `replaceFile`, under `gate`'s write lock,
    // while this process holds `fileLock` exclusively; every other use holds `gate` shared. The
    // `compaction*` counters are only touched under `compactions`; one compaction run at a time.
    private var openEnvironment: Environment?
    private let gate = ReadWriteLock()
    private let compactions = NSCondition()
    /// Compactions asked for so far, each after the deletion it is for was committed.
    private var compactionsRequested: UInt64 = 0
    /// Every request up to this one is covered by a compaction that finished.
    private var compactionsCovered: UInt64 = 0
    private var compactionRunning = false
    private let fileLock: FileLock
    private let configuration: Environment.Configuration
    let directory: String
    /// The in-place files of every subject's record.
    private let slots: SubjectSlots
    /// The keys derived from the master key; `nil` when the ledger was opened without one (an
    /// auditor's copy), and then every operation that needs them throws `key_missing`.
    private let secrets: Secrets?
    /// Why there are no ``secrets``: the master key provider's error.
    private let missingKeyError: LedgerError?

    /// The keys derived from the master key.
    private struct Secrets: Sendable {
        let wrapKey: SymmetricKey
        /// HMAC-SHA256 keyed with the lookup key, its key schedule done once; copied for each use.
        let lookupHMAC: HMAC<SHA256>
        /// HMAC of a constant under the wrap key: proves the master key matches a store.
        let keyCheck: [UInt8]

        init(masterKey: SymmetricKey) {
            wrapKey = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: masterKey,
                info: Array("ConsentLedger subject-key wrap v1".utf8),
                outputByteCount: 32
            )
            lookupHMAC = HMAC<SHA256>(
                key: HKDF<SHA256>.deriveKey(
                    inputKeyMaterial: masterKey,
                    info: Array("ConsentLedger external-id lookup v1".utf8),
                    outputByteCount: 32
                )
            )
            keyCheck = Array(
                HMAC<SHA256>.authenticationCode(for: Array("ConsentLedger key check v1".utf8), using: wrapKey)
            )
        }
    }

    static let tableNames = ["lookup", "subjects", "meta", "changes"]
    private static let wrapContext = Array("CLsk1".utf8)
    /// The `meta` key of the key check value. A name only the slot layout uses: a binary that
    /// knows only the first layout finds no key check and refuses the store, instead of making
    /// new subjects for people it cannot find.
    static let keyCheckKey = Array("keyCheck2".utf8)
    /// The `meta` key of the key check in the first layout, whose presence marks a store to move.
    static let firstLayoutKeyCheckKey = Array("keyCheck".utf8)
    /// The `meta` key of the slots' geometry.
    static let slotsGeometryKey = Array("slots".utf8)
    /// The `meta` key of the number of subjects ever created (u64, big-endian); never decreases.
    static let subjectsCreatedKey = Array("subjectsCreated".utf8)
    /// The `meta` key present while a compaction copies the store: writers then note every
    /// pseudonym they store or delete in `changes`.
    static let compactionTrackingKey = Array("compactionTracking".utf8)
    private var pendingMarker: String { directory + "/compact.pending" }

    /// Opens the key store in `directory`, or creates it when `creating`.
    ///
    /// An existing ledger's key store is never made anew: when its `data.mdb` is missing or empty
    /// this throws `key_missing`, because a fresh store would silently orphan every subject.
    /// - Parameter masterKey: The master key, or the provider's `key_missing` error for a ledger
    ///   opened without one (read-only use of the log: verify, export, log…).
    /// - Throws: ``LedgerError`` `key_missing`, `key_invalid` when the master key is not the one the
    ///   store was made with, `ledger_corrupt` when the store holds no key check.
    init(
        directory: String,
        masterKey: Result<SymmetricKey, LedgerError>,
        creating: Bool,
        configuration: Environment.Configuration
    ) throws {
        self.directory = directory
        self.configuration = configuration
        switch masterKey {
        case .success(let key):
            secrets = Secrets(masterKey: key)
            missingKeyError = nil
        case .failure(let error):
            secrets = nil
            missingKeyError = error
        }
        if !creating {
            var info = stat()
            guard stat(directory + "/data.mdb", &info) == 0, info.st_size > 0 else {
                throw LedgerError(
                    .keyMissing,
                    "the key store \(directory) is missing or empty; a ledger never recreates it, because every subject's key is in it. Restore keys/ from a backup (docs/OPERATIONS.md, \"Restoring a backup\")"
                )
            }
        }
        try FileManager.default.createDirectory(
            atPath: directory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        fileLock = try FileLock(path: directory + "/compact.lock")
        let environment = try Environment(path: directory, tables: Self.tableNames, configuration: configuration)
        openEnvironment = environment
        let firstLayout = try environment.read { txn in
            try txn.get(Self.firstLayoutKeyCheckKey, in: environment.table("meta")) != nil
        }
        slots = try SubjectSlots(directory: directory, creating: creating || firstLayout)
        if firstLayout { try migrateToSlots() }
        try checkOrRecordKeyCheck(creating: creating)
        if FileManager.default.fileExists(atPath: pendingMarker) { try? compact(waitingUpTo: 0) }
    }

    /// The open environment. Only a compaction whose reopen failed (an I/O fault) leaves it closed.
    private func environment() throws -> Environment {
        guard let openEnvironment else {
            throw LedgerError(.ioError, "the key store could not be reopened after compaction; reopen the ledger")
        }
        return openEnvironment
    }

    /// The derived keys, or the reason there are none.
    private func requireSecrets() throws -> Secrets {
        guard let secrets else {
            throw missingKeyError ?? LedgerError(.keyMissing, "the ledger was opened without its master key")
        }
        return secrets
    }

    /// Whether the master key is at hand (otherwise only the log can be read).
    var hasMasterKey: Bool { secrets != nil }

    /// Throws the master key provider's error when the ledger was opened without the key.
    func requireMasterKey() throws { _ = try requireSecrets() }

    /// The key check value stored in the key store (read without writing, so a damaged store is
    /// refused before anything is written to it).
    private(set) var storedKeyCheck: [UInt8] = []

    private func checkOrRecordKeyCheck(creating: Bool) throws {
        let environment = try environment()
        let meta = environment.table("meta")
        let stored = try environment.read { try $0.get(Self.keyCheckKey, in: meta) }
        if let stored {
            if let secrets, stored != secrets.keyCheck {
                throw LedgerError(.keyInvalid, "the master key does not match this ledger's key store")
            }
            storedKeyCheck = stored
            return
        }
        guard creating, let secrets else {
            throw LedgerError(
                .ledgerCorrupt,
                "the key store \(directory) holds no key check: it is empty, damaged or not this ledger's. Restore keys/ from a backup (docs/OPERATIONS.md, \"Restoring a backup\")"
            )
        }
        try environment.write { txn in try txn.put(secrets.keyCheck, forKey: Self.keyCheckKey, in: meta) }
        storedKeyCheck = secrets.keyCheck
    }

    /// The number of subjects ever created in this store, as recorded with each creating commit.
    func subjectsCreated() throws -> UInt64 {
        try withEnvironment { env in
            try env.read { txn in try Self.counter(Self.subjectsCreatedKey, in: txn, table: env.table("meta")) }
        }
    }

    /// Adds `count` to the number of subjects created, in the transaction that creates them.
    func recordCreated(
        _ count: UInt64,
        in txn: borrowing WriteTransaction,
        environment: Environment
    ) throws {
        let meta = environment.table("meta")
        let current = try Self.counter(Self.subjectsCreatedKey, in: txn, table: meta)
        try txn.put(EventsSchema.seqKey(current + count), forKey: Self.subjectsCreatedKey, in: meta)
    }

    /// A u64 counter in `table`, 0 when absent.
    static func counter(
        _ key: [UInt8],
        in txn: borrowing some KeyValueReading & ~Copyable,
        table: Table
    ) throws -> UInt64 {
        guard let raw = try txn.get(key, in: table) else { return 0 }
        guard let value = raw.withUnsafeBytes({ EventsSchema.seq(fromKey: $0) }) else {
            throw LedgerError(.ledgerCorrupt, "a counter of the ledger is damaged")
        }
        return value
    }

    /// Runs `body` with the environment, excluding a concurrent compaction in this process.
    @discardableResult
    func withEnvironment<T>(_ body: (Environment) throws -> T) throws -> T {
        try gate.withReadLock { try body(try environment()) }
    }

    /// Writes a backup copy of `keys` (this store's environment, from ``withEnvironment(_:)``) into
    /// the empty directory `directory`: the environment rebuilt from its live entries, the slots
    /// it numbers, and the index. Run inside a write transaction `txn` of `keys`, which keeps every
    /// writer (and so every change to the slots) out meanwhile.
    func writeBackupCopy(
        of keys: Environment,
        in txn: borrowing WriteTransaction,
        to directory: String
    ) throws {
        try keys.copyRebuilt(to: directory, configuration: Self.unchecked(configuration))
        try slots.copy(try geometry(in: txn, environment: keys), to: directory)
    }

    // MARK: Moving a store of the first layout

    /// Moves a store of the first layout (wrapped keys and lookup entries in LMDB) to slots: writes
    /// every subject's record into `keys/slots` and the index, then replaces `data.mdb` with a new
    /// file holding only slot numbers, counters and the key check under its new name. The old file,
    /// whose pages held every lookup hash, is renamed over, so no file keeps them.
    ///
    /// Crash-safe: until the rename the store is still of the first layout, and the next open
    /// starts again (the slot files are emptied first). Needs no other process to have the store
    /// open, and no master key (records move as they are, still wrapped).
    /// - Throws: ``LedgerError`` `ledger_locked` when another process keeps the store open.
    private func migrateToSlots() throws {
        guard fileLock.upgrade(waitingUpTo: 10) else {
            throw LedgerError(
                .ledgerLocked,
                "the key store moves to its slot layout at this open, and another process has it open; close it and open again"
            )
        }
        defer { fileLock.downgrade() }
        // A copy a crashed compaction of the first layout left holds keys and lookup hashes.
        try? FileManager.default.removeItem(atPath: directory + "/compact.tmp")
        let temporary = directory + "/migrate.tmp"
        try? FileManager.default.removeItem(atPath: temporary)
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        try slots.truncate()
        let unchecked = Self.unchecked(configuration)
        try Self.storage {
            let copy = try Environment(path: temporary, tables: Self.tableNames, configuration: unchecked)
            let live = try environment()
            try live.read { liveTxn in
                try copy.write { txn in
                    // From slot 0 each time: a full map runs this body again.
                    var geometry = SubjectSlots.Geometry()
                    try liveTxn.forEach(in: live.table("subjects")) { pseudonym, stored in
                        guard stored.count == 92 else { return true }
                        let record = SubjectSlots.Record(
                            lookupHash: Array(stored[60..<92]),
                            pseudonym: Array(pseudonym),
                            wrappedKey: Array(stored[0..<60])
                        )
                        let added = try slots.add(record, to: geometry)
                        geometry = added.geometry
                        try txn.put(Self.slotValue(added.slot), forKey: record.pseudonym, in: copy.table("subjects"))
                        return true
                    }
                    let liveMeta = live.table("meta")
                    guard let keyCheck = try liveTxn.get(Self.firstLayoutKeyCheckKey, in: liveMeta) else {
                        throw LedgerError(.ledgerCorrupt, "the key store holds no key check")
                    }
                    let meta = copy.table("meta")
                    try txn.put(keyCheck, forKey: Self.keyCheckKey, in: meta)
                    let created = try Self.counter(Self.subjectsCreatedKey, in: liveTxn, table: liveMeta)
                    try txn.put(EventsSchema.seqKey(created), forKey: Self.subjectsCreatedKey, in: meta)
                    try txn.put(geometry.stored, forKey: Self.slotsGeometryKey, in: meta)
                }
            }
            try slots.commitWrites()
        }
        chmod(temporary + "/data.mdb", 0o600)
        try Self.fsync(path: temporary + "/data.mdb")
        Failpoint.hit("migrate.beforeSwap")
        try replaceFile(with: temporary)
        Failpoint.hit("migrate.afterSwap")
    }

    // MARK: Subjects

    /// The keyed hash under which an external id is looked up; keyed by a secret derived from the
    /// master key, so a guessed e-mail cannot be tested against it without that key.
    /// Thread-safe: it only copies immutable state.
    /// - Throws: ``LedgerError`` `key_missing` without the master key.
    func lookupHash(of externalId: String) throws -> [UInt8] {
        var hmac = try requireSecrets().lookupHMAC
        var id = externalId
        id.withUTF8 { hmac.update(data: UnsafeRawBufferPointer($0)) }
        return hmac.finalize().withUnsafeBytes { Array($0) }
    }

    /// The pseudonym an external id resolves to, if the subject exists and is not erased.
    func pseudonym(
        lookupHash: [UInt8],
        in txn: borrowing some KeyValueReading & ~Copyable,
        environment: Environment
    ) throws -> [UInt8]? {
        try slots.find(lookupHash: lookupHash, in: geometry(in: txn, environment: environment))?.record.pseudonym
    }

    /// The subject's key, or `nil` once the subject has been erased.
    func subjectKey(
        pseudonym: [UInt8],
        in txn: borrowing some KeyValueReading & ~Copyable,
        environment: Environment
    ) throws -> SymmetricKey? {
        try wrappedKey(pseudonym: pseudonym, in: txn, environment: environment).map {
            try unwrap($0, pseudonym: pseudonym)
        }
    }

    /// The subject's record, wrapped key (60 bytes) ‖ lookup hash (32 bytes), or `nil` once erased.
    /// - Throws: ``LedgerError`` `ledger_corrupt` when the subject's slot holds another subject.
    func wrappedKey(
        pseudonym: [UInt8],
        in txn: borrowing some KeyValueReading & ~Copyable,
        environment: Environment
    ) throws -> [UInt8]? {
        guard let stored = try txn.get(pseudonym, in: environment.table("subjects")),
            let slot = Self.slot(stored: stored)
        else { return nil }
        guard slot < (try geometry(in: txn, environment: environment)).slotsUsed else {
            throw LedgerError(.ledgerCorrupt, "the key store names a slot past the slots in use")
        }
        guard let record = try slots.record(at: slot) else { return nil }
        guard record.pseudonym == pseudonym else {
            throw LedgerError(.ledgerCorrupt, "the key store's slot of a subject holds another subject")
        }
        return record.wrappedKey + record.lookupHash
    }

    /// The slots' geometry as `txn` sees it.
    private func geometry(
        in txn: borrowing some KeyValueReading & ~Copyable,
        environment: Environment
    ) throws -> SubjectSlots.Geometry {
        guard let stored = try txn.get(Self.slotsGeometryKey, in: environment.table("meta")) else {
            return SubjectSlots.Geometry()
        }
        guard let geometry = SubjectSlots.Geometry(stored: stored) else {
            throw LedgerError(.ledgerCorrupt, "the key store's record of its slots is damaged")
        }
        return geometry
    }

    /// A slot number as `subjects` stores it.
    private static func slotValue(_ slot: UInt64) -> [UInt8] { EventsSchema.seqKey(slot) }

    /// The slot number `subjects` stores, `nil` when it is not one (8 bytes).
    private static func slot(stored: [UInt8]) -> UInt64? {
        guard stored.count == 8 else { return nil }
        return stored.withUnsafeBytes { EventsSchema.seq(fromKey: $0) }
    }

    /// Unwraps a subject key from its stored record. Pure and thread-safe, so batches unwrap in parallel.
    /// - Throws: ``LedgerError`` `key_invalid` when the record does not open with this master key;
    ///   `ledger_corrupt` when it is shorter than a wrapped key (60 bytes).
    func unwrap(_ record: [UInt8], pseudonym: [UInt8]) throws -> SymmetricKey {
        let wrapKey = try requireSecrets().wrapKey
        guard record.count >= 60 else {
            throw LedgerError(
                .ledgerCorrupt,
                "a subject's key record is \(record.count) bytes, shorter than a wrapped key"
            )
        }
        guard let raw = try AESGCM.open(record[0..<60], key: wrapKey, authenticating: Self.wrapContext + pseudonym)
        else { throw LedgerError(.keyInvalid, "a subject key does not unwrap with this master key") }
        return SymmetricKey(data: raw)
    }

    /// A subject made but not yet stored: its fresh pseudonym and key, and its stored record.
    struct NewSubject: Sendable {
        let pseudonym: [UInt8]
        let key: SymmetricKey
        /// `wrapped key(60) ‖ lookup hash(32)`, as the `subjects` table holds it.
        let record: [UInt8]
        let lookupHash: [UInt8]
    }

    /// Makes a subject for `lookupHash`: a fresh pseudonym not in `txn`'s `subjects` table and a
    /// fresh random key, wrapped. Stores nothing, so an append can make its new subjects before its
    /// write transaction and store them (``store(_:in:environment:)``) inside it.
    func makeSubject(
        lookupHash: [UInt8],
        random: some RandomSource,
        in txn: borrowing some KeyValueReading & ~Copyable,
        environment: Environment
    ) throws -> NewSubject {
        let subjects = environment.table("subjects")
        // One draw: pseudonym(16) ‖ key(32) ‖ wrap nonce(12), the order the bytes have always been taken in.
        let drawn = random.bytes(60)
        var pseudonym = Array(drawn[0..<16])
        while try txn.get(pseudonym, in: subjects) != nil { pseudonym = random.bytes(16) }
        let keyBytes = Array(drawn[16..<48])
        let wrapped = try AESGCM.seal(
            keyBytes,
            key: try requireSecrets().wrapKey,
            nonce: Array(drawn[48..<60]),
            authenticating: Self.wrapContext + pseudonym
        )
        return NewSubject(
            pseudonym: pseudonym,
            key: SymmetricKey(data: keyBytes),
            record: wrapped + lookupHash,
            lookupHash: lookupHash
        )
    }

    /// Stores a subject made by ``makeSubject(lookupHash:random:in:environment:)``: its record in
    /// the next slot, indexed, and its slot number. The caller has found no subject under its
    /// lookup hash in `txn`, and calls ``flushSlots()`` before `txn` commits.
    /// - Returns: `false`, storing nothing, when its pseudonym was taken since it was made.
    func store(_ subject: NewSubject, in txn: borrowing WriteTransaction, environment: Environment) throws -> Bool {
        let subjects = environment.table("subjects")
        guard try txn.get(subject.pseudonym, in: subjects) == nil else { return false }
        let record = SubjectSlots.Record(
            lookupHash: subject.lookupHash,
            pseudonym: subject.pseudonym,
            wrappedKey: Array(subject.record[0..<60])
        )
        let (slot, geometry) = try slots.add(record, to: try geometry(in: txn, environment: environment))
        try txn.put(Self.slotValue(slot), forKey: subject.pseudonym, in: subjects)
        try txn.put(geometry.stored, forKey: Self.slotsGeometryKey, in: environment.table("meta"))
        try noteChange(of: subject.pseudonym, in: txn, environment: environment)
        return true
    }

    /// Flushes the slots stored in the current write transaction; call it last before that
    /// transaction commits, so no committed subject's key is only in the page cache.
    func commitSlots() throws { try slots.commitWrites() }

    /// A mark of the slots stored so far in the current write transaction, to roll a nested
    /// transaction's back to with ``discardSlots(after:)``.
    var slotMark: Int { slots.writeMark }

    /// Erases every slot and bucket stored after `mark` (0: all of the current write transaction),
    /// when the (nested) transaction that stored them rolls back; call it while the writer lock
    /// is still held, so no other writer can have taken the same slots.
    func discardSlots(after mark: Int = 0) throws { try slots.discardWrites(after: mark) }

    /// Notes in `changes` that `pseudonym`'s entries changed, while a compaction copies the store.
    private func noteChange(
        of pseudonym: [UInt8],
        in txn: borrowing WriteTransaction,
        environment: Environment
    )
        throws
    {
        guard try txn.get(Self.compactionTrackingKey, in: environment.table("meta")) != nil else { return }
        try txn.put([1], forKey: pseudonym, in: environment.table("changes"))
    }

    /// Creates a subject: a fresh pseudonym and a fresh random key, stored wrapped.
    func createSubject(
        lookupHash: [UInt8],
        random: some RandomSource,
        in txn: borrowing WriteTransaction,
        environment: Environment
    ) throws -> (pseudonym: [UInt8], key: SymmetricKey) {
        let made = try makeSubject(lookupHash: lookupHash, random: random, in: txn, environment: environment)
        guard try store(made, in: txn, environment: environment) else {
            throw LedgerError(.internal, "a pseudonym found free was taken in the same transaction")
        }
        return (made.pseudonym, made.key)
    }

    /// Overwrites the subject's slot and index buckets in place and flushes them: the writes in a
    /// write transaction of the key store (its writer lock keeps every other writer out, in any
    /// process; it changes nothing in LMDB, so its commit writes nothing), the flush after it, with
    /// no lock held, so appends go on. Its slot number stays until
    /// ``deleteSubject(pseudonym:in:environment:overwriting:)``. Call it only once the erasure is in
    /// the log. Returns `false` when the subject has no slot number (erased already).
    @discardableResult
    func shred(pseudonym: [UInt8], environment: Environment) throws -> Bool {
        let found = try environment.write { txn in
            try overwriteSlot(of: pseudonym, in: txn, environment: environment)
        }
        Failpoint.hit("erase.beforeFlush")
        try slots.flush()
        return found
    }

    /// Overwrites the slot and buckets of the subject `txn` names, if any; the caller flushes.
    private func overwriteSlot(
        of pseudonym: [UInt8],
        in txn: borrowing WriteTransaction,
        environment: Environment
    ) throws -> Bool {
        guard let stored = try txn.get(pseudonym, in: environment.table("subjects")) else { return false }
        if let slot = Self.slot(stored: stored) {
            try slots.overwrite(slot: slot, of: pseudonym, in: try geometry(in: txn, environment: environment))
        }
        return true
    }

    /// Erases the subject's key and lookup entry: unless `overwriting` is false (an erasure whose
    /// ``shred(pseudonym:environment:)`` is done), overwrites its slot and index buckets in place;
    /// then deletes its slot number in `txn`. Flush the slots (``commitSlots()``) before `txn`
    /// commits. Call it only once the erasure is in the log. Returns `false` when the subject was
    /// gone already.
    @discardableResult
    func deleteSubject(
        pseudonym: [UInt8],
        in txn: borrowing WriteTransaction,
        environment: Environment,
        overwriting: Bool = true
    ) throws -> Bool {
        if overwriting {
            guard try overwriteSlot(of: pseudonym, in: txn, environment: environment) else { return false }
        } else {
            guard try txn.get(pseudonym, in: environment.table("subjects")) != nil else { return false }
        }
        try txn.delete(pseudonym, in: environment.table("subjects"))
        try noteChange(of: pseudonym, in: txn, environment: environment)
        return true
    }

    /// Overwrites, in `txn`, the slots of the subjects whose erasures `pending` lists and flushes
    /// them: a backup calls it before copying the slots, so no copy holds the key of an erasure
    /// its log records.
    func overwriteSlots(of pending: [[UInt8]], in txn: borrowing WriteTransaction, environment: Environment) throws {
        for pseudonym in pending { _ = try overwriteSlot(of: pseudonym, in: txn, environment: environment) }
        try slots.flush()
    }

    /// Erases what a writer killed after flushing its new subjects' slots (or whose commit then
    /// failed) left past the slots in use: the records and buckets of subjects that were never
    /// created. Runs at open; takes the writer lock only when there is something to erase.
    /// - Returns: How many slots it erased.
    @discardableResult
    func clearAbandonedSlots() throws -> Int {
        try withEnvironment { env in
            guard try slots.hasAbandoned(after: try env.read { try geometry(in: $0, environment: env) }) else {
                return 0
            }
            // Under the writer lock no writer is midway: whatever lies past the slots in use is left over.
            return try env.write { txn in try slots.clearAbandoned(after: try geometry(in: txn, environment: env)) }
        }
    }

    /// The slots' geometry as last committed.
    func slotGeometry() throws -> SubjectSlots.Geometry {
        try withEnvironment { env in try env.read { try geometry(in: $0, environment: env) } }
    }

    /// The pseudonyms whose records the slots in use hold, in slot order.
    func pseudonymsInSlots() throws -> [[UInt8]] {
        let geometry = try slotGeometry()
        return try (0..<geometry.slotsUsed).compactMap { try slots.record(at: $0)?.pseudonym }
    }

    /// The number of live (not erased) subjects.
    func subjectCount() throws -> Int {
        try withEnvironment { env in try env.read { try $0.count(of: env.table("subjects")) } }
    }

    // MARK: Compaction

    /// Records that a compaction is due before a key is deleted (`keys/compact.pending`, synced),
    /// so a crash before the compaction finishes leaves the next open to do it.
    /// - Throws: ``LedgerError`` `io_error` when a symbolic link, or anything other than a regular
    ///   file, is at the marker's name (refused, never followed: ``WritableFile``), or it cannot be
    ///   created.
    func markCompactionPending() throws {
        close(try WritableFile.open(pendingMarker, .openOrCreate, name: "the key store's compaction marker"))
        try Self.fsync(path: directory)
    }

    /// Rewrites the key store with a compacting copy, so no freed page keeps a deleted key or lookup
    /// entry, and swaps it in; returns once a copy made after this call began is in place.
    ///
    /// Calls that arrive while a copy is under way share the next one, so a burst of erasures
    /// costs two copies, not one each. The copy is made beside appenders; they wait only while
    /// the changes made meanwhile are carried into it and it is swapped in. Other processes that
    /// have the store open block the swap: it waits up to `seconds` for them, and otherwise leaves
    /// `keys/compact.pending` so the next open compacts.
    /// - Throws: ``LedgerError`` `ledger_locked` when others kept the store open.
    func compact(waitingUpTo seconds: Double = 10) throws {
        compactions.lock()
        defer { compactions.unlock() }
        compactionsRequested += 1
        let request = compactionsRequested
        while compactionsCovered < request {
            if compactionRunning {
                compactions.wait()
                continue
            }
            compactionRunning = true
            let covering = compactionsRequested
            compactions.unlock()
            let outcome = Result { try compactOnce(waitingUpTo: seconds) }
            compactions.lock()
            compactionRunning = false
            if case .success = outcome { compactionsCovered = max(compactionsCovered, covering) }
            compactions.broadcast()
            try outcome.get()
        }
    }

    /// One compaction run. Every deletion committed before it began is absent from the copy; one
    /// committed during the copy is carried into it as a deletion (so a freed page of the new file
    /// may keep it), and then `keys/compact.pending` stays for the run that follows.
    private func compactOnce(waitingUpTo seconds: Double) throws {
        // Without time to wait (the compaction an open owes), give up before copying when another
        // process has the store open: its swap could not happen anyway.
        if seconds <= 0 {
            guard fileLock.upgrade(waitingUpTo: 0) else { throw Self.othersHaveItOpen }
            fileLock.downgrade()
        }
        // One run at a time across processes: a second run would clear the first one's changes.
        let running = try FileLock(exclusive: directory + "/compact.run.lock", waitingUpTo: seconds)
        defer { withExtendedLifetime(running) {} }
        try markCompactionPending()
        try Self.storage {
            try withEnvironment { env in
                try env.write { txn in
                    try txn.removeAll(in: env.table("changes"))
                    try txn.put([1], forKey: Self.compactionTrackingKey, in: env.table("meta"))
                }
            }
        }
        do {
            try copyAndSwap(waitingUpTo: seconds)
        } catch {
            // Writers need note nothing more until the next run begins tracking again.
            try? Self.storage {
                try withEnvironment { env in
                    try env.write { txn in
                        _ = try txn.delete(Self.compactionTrackingKey, in: env.table("meta"))
                        try txn.removeAll(in: env.table("changes"))
                    }
                }
            }
            throw error
        }
    }

    /// The copy and the swap of a run whose tracking has begun.
    private func copyAndSwap(waitingUpTo seconds: Double) throws {
        Failpoint.hit("compact.afterTracking")
        let temporary = directory + "/compact.tmp"
        try? FileManager.default.removeItem(atPath: temporary)
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        // The copy's writes at the idle I/O class: they would otherwise hold up the appenders'
        // fsyncs for as long as the copy takes.
        try IdleIO.run {
            try Self.storage {
                try withEnvironment { try $0.copyRebuilt(to: temporary, configuration: Self.unchecked(configuration)) }
            }
            chmod(temporary + "/data.mdb", 0o600)
            try Self.fsync(path: temporary + "/data.mdb")
        }
        Failpoint.hit("compact.afterCopy")
        // Opened before writers are excluded; closed inside, before its file is renamed (LMDB
        // forbids two handles on one file in a process).
        var copy: Environment? = try Self.storage {
            try Environment(path: temporary, tables: Self.tableNames, configuration: Self.unchecked(configuration))
        }
        guard fileLock.upgrade(waitingUpTo: seconds) else { throw Self.othersHaveItOpen }
        defer { fileLock.downgrade() }
        var clean = false
        try replaceFile(with: temporary) {
            clean = try Self.storage { try Self.carryChanges(from: try environment(), into: copy) }
            copy = nil
            Failpoint.hit("compact.afterChanges")
        }
        // Still excluding every other process: an erasure's marker written after this is kept.
        if clean { try? FileManager.default.removeItem(atPath: pendingMarker) }
    }

    /// Replaces `data.mdb` with `temporary/data.mdb` (complete and flushed) and reopens it, with
    /// every writer of this process excluded from just before `beforeSwap` to the reopen. The
    /// caller holds `fileLock` exclusively.
    private func replaceFile(with temporary: String, beforeSwap: () throws -> Void = {}) throws {
        // Held open across the rename, so the old file's blocks and cached pages are freed when
        // this returns, not inside the rename while every writer waits (tens of milliseconds at
        // a million subjects), and then a slice at a time (``freeBlocksIfUnlinked(_:)``).
        // Never through a link planted at the name since the store was opened (``WritableFile``).
        let oldFile =
            (try? WritableFile.open(
                directory + "/data.mdb",
                .openExisting(missing: LedgerError(.keyMissing, "the key store's data.mdb is missing")),
                access: O_RDWR,
                name: "the key store's data.mdb"
            )) ?? -1
        defer {
            if oldFile >= 0 {
                Self.freeBlocksIfUnlinked(oldFile)
                close(oldFile)
            }
        }
        try gate.withWriteLock {
            try beforeSwap()
            // Close the old handle before the file under it is replaced (LMDB forbids two handles on
            // one environment in a process), then open the new file.
            openEnvironment = nil
            let renamed = rename(temporary + "/data.mdb", directory + "/data.mdb") == 0
            let renameError = errno
            Failpoint.hit("compact.afterRename")
            // The file just made needs no page check; an unrenamed old one had its check when
            // this process opened it.
            openEnvironment = try Environment(
                path: directory,
                tables: Self.tableNames,
                configuration: Self.unchecked(configuration)
            )
            guard renamed else {
                throw LedgerError(.ioError, "cannot replace the key store: \(String(cString: strerror(renameError)))")
            }
            try Self.fsync(path: directory)
        }
    }

    /// `configuration` without the page check at open: for the copy this run has just written.
    private static func unchecked(_ configuration: Environment.Configuration) -> Environment.Configuration {
        var unchecked = configuration
        unchecked.checksPages = false
        return unchecked
    }

    private static let othersHaveItOpen = LedgerError(
        .ledgerLocked,
        "another process has the key store open; it is compacted at the next open, or by `ledgerctl keys compact`"
    )

    /// Carries into `copy` every change `live` noted since the copy's tracking
    /// began: each pseudonym's record and lookup entry as `live` has them now (deleted when `live`
    /// no longer has them), and the subject counter; then ends tracking in the copy. Run with no
    /// other writer, so `live` does not change meanwhile.
    /// - Returns: Whether no deletion was carried (every freed page of the copy is free of keys).
    private static func carryChanges(from live: Environment, into copy: Environment?) throws -> Bool {
        guard let copy else { throw LedgerError(.internal, "the compaction's copy is not open") }
        return try live.read { liveTxn in
            try copy.write { txn in
                let subjects = copy.table("subjects")
                let lookup = copy.table("lookup")
                var deletions = 0
                var stored: [(pseudonym: [UInt8], record: [UInt8])] = []
                try liveTxn.forEach(in: live.table("changes")) { pseudonym, _ in
                    let key = Array(pseudonym)
                    if let record = try liveTxn.get(key, in: live.table("subjects")) {
                        stored.append((key, record))
                    } else if let old = try txn.get(key, in: subjects) {
                        if old.count == 92, try txn.get(Array(old[60..<92]), in: lookup) == key {
                            try txn.delete(Array(old[60..<92]), in: lookup)
                        }
                        try txn.delete(key, in: subjects)
                        deletions += 1
                    }
                    return true
                }
                // Deletions first: an external id erased and then used again has a new subject.
                for (pseudonym, record) in stored {
                    try txn.put(record, forKey: pseudonym, in: subjects)
                    if record.count == 92 { try txn.put(pseudonym, forKey: Array(record[60..<92]), in: lookup) }
                }
                let meta = copy.table("meta")
                let created = try counter(subjectsCreatedKey, in: liveTxn, table: live.table("meta"))
                try txn.put(EventsSchema.seqKey(created), forKey: subjectsCreatedKey, in: meta)
                // The slots handed out meanwhile: the copy must never number one of them again.
                if let geometry = try liveTxn.get(slotsGeometryKey, in: live.table("meta")) {
                    try txn.put(geometry, forKey: slotsGeometryKey, in: meta)
                }
                try txn.delete(compactionTrackingKey, in: meta)
                try txn.removeAll(in: copy.table("changes"))
                return deletions == 0
            }
        }
    }

    /// Runs `body`, turning LMDB's errors into the ledger's.
    private static func storage<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as LMDBError {
            throw LedgerError(storage: error)
        }
    }

    /// The most of a replaced key-store file one truncation frees.
    private static let releaseSlice: off_t = 4 << 20

    /// When the file open at `fd` no longer has a name (the store it held was replaced), frees its
    /// blocks, a slice at a time from the end, so that closing it frees nothing more. Closing a
    /// replaced file of a million subjects (hundreds of megabytes) freed them all at once and held
    /// the file system's journal for about 100 ms, which every append's flush waited for (seen by
    /// strace beside a served 1M-subject ledger); a slice keeps each such wait short. A file that
    /// still has a name, such as a store whose replacement failed, is left as it is.
    static func freeBlocksIfUnlinked(_ fd: Int32) {
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_nlink == 0 else { return }
        var size = info.st_size
        while size > 0 {
            size = max(0, size - releaseSlice)
            guard ftruncate(fd, size) == 0 else { return }
            Failpoint.hit("compact.whileFreeing")
            sched_yield()
        }
    }

    private static func fsync(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw LedgerError(.ioError, "cannot open \(path) to sync it") }
        defer { close(fd) }
        guard Foundation.fsync(fd) == 0 else { throw LedgerError(.ioError, "cannot sync \(path)") }
    }
}
