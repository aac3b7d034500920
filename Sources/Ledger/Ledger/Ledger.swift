import Crypto
import Foundation
import Logging

/// One ledger directory (SPEC §2, §3): the append-only, hash-chained event log in `events/`, the
/// subject keys in `keys/`, and the master key file.
///
/// Open each ledger once per process. All methods are synchronous and thread-safe: LMDB serialises
/// writers (across processes too), and readers use their own short read transactions.
///
/// Layout of a ledger directory:
/// ```
/// <dir>/events/   LMDB: log, indexes, request records, catalogue (see EventsSchema)
/// <dir>/keys/     LMDB: external-id lookup and wrapped subject keys (see KeyStore)
/// <dir>/master.key  the master key, mode 0600 (unless --master-key puts it elsewhere)
/// <dir>/signing.key the Ed25519 key that signs checkpoints, mode 0600
/// ```
public final class Ledger: @unchecked Sendable {
    // Invariant: the stored properties are immutable after init except `catalogueCache`, which is
    // only reached through its lock.

    /// How a ledger is opened: where the master key comes from, the clock, the random source and
    /// the map sizes. Tests inject the clock and the random source; production uses the defaults.
    public struct Options: Sendable {
        /// The master key's source; `nil` means the file `<dir>/master.key`.
        public var masterKey: (any MasterKeyProvider)?
        /// The clock that stamps `recordedAt`.
        public var clock: any LedgerClock
        /// The source of keys, nonces and generated ids.
        public var random: any RandomSource
        /// The map size an environment starts with (virtual; files grow as used).
        public var initialMapSize: Int
        /// The largest map the events environment may grow to; past it appends fail with `ledger_full`.
        public var mapCeiling: Int
        /// Where the ledger logs, at `debug` and `trace` (never personal data).
        public var logger: Logger
        /// Observers that keep derived state (projection snapshots) in step with every append.
        package var observers: [any LogObserver] = []
        /// How long a key-store compaction waits for other processes to close the store.
        package var compactionWait: Double = 10
        /// The map size the key store starts with (and reopens with after a compaction); tests
        /// set a small one to reach its growth with a few thousand subjects.
        package var keyStoreInitialMapSize = 1 << 26
        /// Recent entries of the per-subject index above which appends merge them
        /// (``SubjectIndex/mergeThreshold``); tests set a small one to cross many merges quickly.
        package var subjectIndexMergeThreshold = SubjectIndex.mergeThreshold
        /// Whether opening checks every page of `events/data.mdb` by `pread` before anything reads
        /// it, so a damaged page is refused with `ledger_corrupt` naming it instead of crashing
        /// the process. It costs a read of the whole file: set it for work that walks the whole
        /// log anyway (verify, export, the log listing, rebuild, a server starting).
        public var checksPages = false

        /// Creates options; every argument has the production default.
        public init(
            masterKey: (any MasterKeyProvider)? = nil,
            clock: any LedgerClock = SystemClock(),
            random: any RandomSource = SystemRandomSource(),
            initialMapSize: Int = 1 << 30,
            mapCeiling: Int = 1 << 40,
            logger: Logger = Logger(label: "consentledger")
        ) {
            self.masterKey = masterKey
            self.clock = clock
            self.random = random
            self.initialMapSize = initialMapSize
            self.mapCeiling = mapCeiling
            self.logger = logger
        }
    }

    /// The ledger directory.
    public let directory: String
    /// The ledger's random id (32 hex characters), fixed at creation.
    public let ledgerId: String
    let events: Environment
    let keyStore: KeyStore
    let options: Options
    var logger: Logger { options.logger }
    private let catalogueCache: Locked<(generation: UInt64, catalogue: Catalogue)?> = Locked(nil)
    let subjectKeyCache = SubjectKeyCache()

    /// Events between projection snapshots unless `init` sets another interval.
    public static let defaultSnapshotInterval: UInt64 = 100_000

    /// The default master key file of a ledger directory.
    public static func defaultMasterKeyPath(for directory: String) -> String { directory + "/master.key" }

    /// Whether `directory` holds a ledger.
    public static func exists(at directory: String) -> Bool {
        FileManager.default.fileExists(atPath: directory + "/events/data.mdb")
    }

    /// Opens the existing ledger in `directory`, repairing an erasure that a crash interrupted.
    /// - Throws: ``LedgerError`` `ledger_missing`, `ledger_corrupt` (also for a damaged or truncated
    ///   file, or a backup that did not finish), `key_*`, `io_error`.
    public convenience init(openingAt directory: String, options: Options = Options()) throws {
        try Ledger.refuseIncompleteBackup(at: directory)
        guard Ledger.exists(at: directory) else {
            throw LedgerError(.ledgerMissing, "no ledger in \(directory); create one with `ledgerctl init`")
        }
        try self.init(directory: directory, options: options, creating: false)
    }

    /// Creates a ledger in `directory` with `catalogue` (the bundled one when `nil`), making the
    /// master key file when it does not exist. On an existing ledger it loads `catalogue` if one is
    /// given (see ``loadCatalogue(_:)``) and otherwise changes nothing.
    /// - Returns: The ledger, and whether it was created now.
    /// - Parameter snapshotInterval: Events between projection snapshots; fixed at creation.
    public static func create(
        at directory: String,
        catalogue: Catalogue?,
        snapshotInterval: UInt64 = Ledger.defaultSnapshotInterval,
        options: Options = Options()
    ) throws -> (ledger: Ledger, created: Bool) {
        try refuseIncompleteBackup(at: directory)
        if exists(at: directory) {
            let ledger = try Ledger(openingAt: directory, options: options)
            if let catalogue { try ledger.loadCatalogue(catalogue) }
            try ledger.ensureSigningKey()
            return (ledger, false)
        }
        guard (1...1_000_000_000).contains(snapshotInterval) else {
            throw LedgerError(.invalidField, "the snapshot interval must be 1 to 1000000000 events")
        }
        do {
            try FileManager.default.createDirectory(
                atPath: directory,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw LedgerError(.ioError, "cannot create the ledger directory \(directory)")
        }
        if options.masterKey == nil {
            let keyPath = defaultMasterKeyPath(for: directory)
            if !FileManager.default.fileExists(atPath: keyPath) {
                try FileMasterKeyProvider.create(at: keyPath, random: options.random)
            }
        }
        let ledger = try Ledger(directory: directory, options: options, creating: true)
        try ledger.storage {
            try ledger.events.write { txn in
                try txn.put(
                    EventsSchema.seqKey(snapshotInterval),
                    forKey: EventsSchema.MetaKey.snapshotInterval,
                    in: ledger.events.table(EventsSchema.meta)
                )
            }
        }
        try ledger.loadCatalogue(try catalogue ?? Catalogue.bundled())
        try ledger.ensureSigningKey()
        return (ledger, true)
    }

    private init(directory: String, options: Options, creating: Bool) throws {
        self.directory = directory
        self.options = options
        let provider = options.masterKey ?? FileMasterKeyProvider(path: Ledger.defaultMasterKeyPath(for: directory))
        // Without the master key the ledger still opens, for what needs none (verify, export, log,
        // checkpoint, prove, replay, stats): an auditor holds a backup, not the key. Whatever
        // needs the key throws the provider's `key_missing` then.
        let masterKey: Result<SymmetricKey, LedgerError>
        do {
            masterKey = .success(try provider.masterKey())
        } catch let error as LedgerError where error.code == .keyMissing && !creating {
            masterKey = .failure(error)
        }
        let configuration = Environment.Configuration(
            initialMapSize: options.initialMapSize,
            mapCeiling: options.mapCeiling,
            checksPages: options.checksPages
        )
        do {
            events = try Environment(
                path: directory + "/events",
                tables: EventsSchema.tableNames,
                configuration: configuration
            )
            ledgerId = try Ledger.readOrCreateIdentity(events, random: options.random, creating: creating)
            keyStore = try KeyStore(
                directory: directory + "/keys",
                masterKey: masterKey,
                creating: creating,
                configuration: .init(
                    initialMapSize: options.keyStoreInitialMapSize,
                    mapCeiling: max(options.mapCeiling, options.keyStoreInitialMapSize)
                )
            )
        } catch let error as LMDBError {
            throw LedgerError(storage: error)
        }
        try checkKeyStoreMatchesLog()
        Failpoint.hit("open.beforeRepair")
        // No key is needed to finish an erasure: its slot is overwritten, not read.
        try repairInterruptedErasures()
        let abandoned = try storage { try keyStore.clearAbandonedSlots() }
        if abandoned > 0 { logger.info("erased slots of subjects never created", metadata: ["count": "\(abandoned)"]) }
        try backfillMerkleTree()
    }

    private static func readOrCreateIdentity(
        _ events: Environment,
        random: some RandomSource,
        creating: Bool
    ) throws
        -> String
    {
        let meta = events.table(EventsSchema.meta)
        return try events.write { txn in
            if var format = try txn.get(EventsSchema.MetaKey.format, in: meta) {
                if format == EventsSchema.seqKey(1) {
                    // Format 1 keyed Merkle nodes by level first. The tree is derived data: drop it,
                    // and the backfill at open rebuilds it from the log under the new keys.
                    try txn.removeAll(in: events.table(EventsSchema.merkle))
                    try MerkleStore.setSize(0, in: txn, events: events)
                    format = EventsSchema.seqKey(2)
                }
                if format == EventsSchema.seqKey(2) {
                    // Format 2 stored every snapshot whole, which format 3 reads as it stands. The
                    // new number keeps builds of format 2 from the deltas this build may store.
                    format = EventsSchema.seqKey(3)
                }
                if format == EventsSchema.seqKey(3) {
                    // Format 3 filed recent subject-index entries under 64 buckets (a pseudonym's
                    // first six bits), which format 4 would look for under 256: move the whole
                    // recent level (at most 32,768 entries) into the sorted one, in this
                    // transaction, so no entry is ever under a bucket its reader does not scan.
                    try SubjectIndex.mergeAll(in: txn, events: events)
                    format = EventsSchema.seqKey(EventsSchema.formatVersion)
                    try txn.put(format, forKey: EventsSchema.MetaKey.format, in: meta)
                }
                guard format == EventsSchema.seqKey(EventsSchema.formatVersion) else {
                    throw LedgerError(.ledgerCorrupt, "the ledger's format version is not one this ledgerctl reads")
                }
                guard let id = try txn.get(EventsSchema.MetaKey.ledgerId, in: meta), id.count == 16 else {
                    throw LedgerError(.ledgerCorrupt, "the ledger has no id")
                }
                return Hex.encode(id)
            }
            guard creating else { throw LedgerError(.ledgerCorrupt, "the events store holds no ledger metadata") }
            let id = random.bytes(16)
            try txn.put(EventsSchema.seqKey(EventsSchema.formatVersion), forKey: EventsSchema.MetaKey.format, in: meta)
            try txn.put(id, forKey: EventsSchema.MetaKey.ledgerId, in: meta)
            try txn.put(ChainHead.empty.encoded, forKey: EventsSchema.MetaKey.head, in: meta)
            return Hex.encode(id)
        }
    }

    /// Refuses a key store that is not this log's, or older than it (SPEC §3): one of another
    /// ledger (its key check differs from the one the log recorded), or one that knows fewer
    /// subjects than the log has created — an old backup, or a damaged file whose older meta page
    /// LMDB fell back to. Nothing is written to the key store before this passes.
    ///
    /// The log's count is read before the key store's. Appenders in other processes commit a new
    /// subject to the key store before the log, so a key store read later never counts fewer than
    /// a log read earlier; read the other way round, an append committed between the two reads
    /// made a healthy ledger look older than its log and refused it as `ledger_corrupt`.
    private func checkKeyStoreMatchesLog() throws {
        let storedKeyCheck = keyStore.storedKeyCheck
        try storage {
            let meta = events.table(EventsSchema.meta)
            let (recordedCheck, logCreated) = try events.read { txn in
                (
                    try txn.get(EventsSchema.MetaKey.keyCheck, in: meta),
                    try KeyStore.counter(EventsSchema.MetaKey.subjectsCreated, in: txn, table: meta)
                )
            }
            Failpoint.hit("open.betweenCounters")
            let keysCreated = try keyStore.subjectsCreated()
            guard let recordedCheck else {
                // A ledger made before the log recorded its key store's check: record it now.
                try events.write { txn in try txn.put(storedKeyCheck, forKey: EventsSchema.MetaKey.keyCheck, in: meta) }
                return
            }
            guard recordedCheck == storedKeyCheck else {
                throw LedgerError(
                    .ledgerCorrupt,
                    "the key store in keys/ belongs to another ledger. Restore this ledger's keys/ from a backup (docs/OPERATIONS.md, \"Restoring a backup\")"
                )
            }
            guard keysCreated >= logCreated else {
                throw LedgerError(
                    .ledgerCorrupt,
                    "the key store in keys/ is older than the log or damaged: the log has created \(logCreated) subjects, the key store knows \(keysCreated). Nothing was changed. Restore keys/ from the latest backup (docs/OPERATIONS.md, \"Restoring a backup\")"
                )
            }
        }
    }

    /// Adds `count` to the subjects the log has created, in the append's transaction.
    func recordCreated(_ count: UInt64, in txn: borrowing WriteTransaction) throws {
        let meta = events.table(EventsSchema.meta)
        let current = try KeyStore.counter(EventsSchema.MetaKey.subjectsCreated, in: txn, table: meta)
        try txn.put(EventsSchema.seqKey(current + count), forKey: EventsSchema.MetaKey.subjectsCreated, in: meta)
    }

    /// Runs `body`, turning storage errors into ``LedgerError``s.
    @discardableResult
    func storage<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as LMDBError {
            throw LedgerError(storage: error)
        }
    }

    // MARK: Head

    /// The chain head as committed now.
    public func head() throws -> ChainHead {
        try storage { try events.read { try readHead(in: $0) } }
    }

    func readHead(in txn: borrowing some KeyValueReading & ~Copyable) throws -> ChainHead {
        guard let raw = try txn.get(EventsSchema.MetaKey.head, in: events.table(EventsSchema.meta)),
            let head = ChainHead(encoded: raw)
        else { throw LedgerError(.ledgerCorrupt, "the chain head record is missing or damaged") }
        return head
    }

    /// Events between projection snapshots, as set when the ledger was created.
    public func snapshotInterval() throws -> UInt64 {
        try storage { try events.read { try snapshotInterval(in: $0) } }
    }

    func snapshotInterval(in txn: borrowing some KeyValueReading & ~Copyable) throws -> UInt64 {
        let raw = try txn.get(EventsSchema.MetaKey.snapshotInterval, in: events.table(EventsSchema.meta))
        return raw.flatMap { bytes in bytes.withUnsafeBytes { EventsSchema.seq(fromKey: $0) } }
            ?? Ledger.defaultSnapshotInterval
    }

    // MARK: Catalogue

    /// The catalogue currently loaded in the ledger.
    public func catalogue() throws -> Catalogue {
        try storage { try events.read { try catalogue(in: $0) } }
    }

    func catalogue(in txn: borrowing some KeyValueReading & ~Copyable) throws -> Catalogue {
        let meta = events.table(EventsSchema.meta)
        guard let generationBytes = try txn.get(EventsSchema.MetaKey.catalogueGeneration, in: meta) else {
            throw LedgerError(.ledgerCorrupt, "the ledger holds no catalogue")
        }
        let generation = generationBytes.withUnsafeBytes { EventsSchema.seq(fromKey: $0) } ?? 0
        if let cached = catalogueCache.withLock({ $0 }), cached.generation == generation { return cached.catalogue }
        guard let text = try txn.get(EventsSchema.MetaKey.catalogue, in: meta),
            let catalogue = try? Catalogue.parse(String(decoding: text, as: UTF8.self), stored: true)
        else { throw LedgerError(.ledgerCorrupt, "the stored catalogue cannot be read") }
        catalogueCache.withLock { $0 = (generation, catalogue) }
        return catalogue
    }

    /// Loads (or reloads) the purpose catalogue. A notice version the ledger already knows must keep
    /// its exact text: a catalogue that alters one is refused and nothing changes.
    /// - Throws: ``LedgerError`` `invalid_catalogue` naming the purpose and version.
    public func loadCatalogue(_ catalogue: Catalogue) throws {
        try storage {
            try events.write { txn in
                let notices = events.table(EventsSchema.notices)
                let meta = events.table(EventsSchema.meta)
                for purpose in catalogue.purposes {
                    for notice in purpose.notices {
                        let key = Array(purpose.id.utf8) + [0] + Array(notice.version.utf8)
                        let digest = Hex.decode(notice.sha256) ?? []
                        if let known = try txn.get(key, in: notices), known != digest {
                            throw LedgerError(
                                .invalidCatalogue,
                                "notice \(notice.version) of purpose \(purpose.id) has a different text than the one this ledger already holds; a notice version never changes, so give the new text a new version"
                            )
                        }
                        try txn.put(digest, forKey: key, in: notices)
                    }
                }
                let generation =
                    (try txn.get(EventsSchema.MetaKey.catalogueGeneration, in: meta))
                    .flatMap { bytes in bytes.withUnsafeBytes { EventsSchema.seq(fromKey: $0) } } ?? 0
                try txn.put(Array(catalogue.source.utf8), forKey: EventsSchema.MetaKey.catalogue, in: meta)
                try txn.put(
                    EventsSchema.seqKey(generation + 1),
                    forKey: EventsSchema.MetaKey.catalogueGeneration,
                    in: meta
                )
            }
        }
        logger.debug("catalogue loaded", metadata: ["purposes": "\(catalogue.purposes.count)"])
    }
}
