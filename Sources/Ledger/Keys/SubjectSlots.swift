import Foundation

/// The part of the key store that erasure overwrites in place (docs/ERASURE.md, "Key slots"):
/// `keys/slots`, one fixed-size record per subject, and `keys/index`, a hash index from lookup
/// hash to slot.
///
/// LMDB never overwrites a page in place: a deleted entry stays readable in a freed page, a
/// branch page's separator or a page's unused gap until the whole file is rewritten. These two
/// files are written with `pwrite` at fixed offsets instead, so erasing a subject is two small
/// overwrites and one flush each, whatever the number of subjects. Everything that could tie a
/// person to their pseudonym or open their data lives here; the LMDB side of the key store keeps
/// only `pseudonym → slot number`, which reveals nothing once the slot is zero.
///
/// A slot's record is 128 bytes: lookup hash (32) ‖ pseudonym (16) ‖ wrapped key (60) ‖ a check
/// of those (8) ‖ zeros (12); a slot of zeros is free or erased. Slots are numbered in creation
/// order and never reused.
///
/// The index is a stack of open-addressing tables ("levels"), level `n` holding
/// `firstLevelBuckets << n` buckets of 8 bytes: slot + 1 (u32, little-endian; 0 empty,
/// `0xFFFF_FFFF` erased) ‖ the lookup hash's first four bytes (a tag that saves reading slots that
/// cannot match). A new level is added when the newest is half full, so no level ever needs
/// rewriting; a lookup probes each level from its home bucket to the first empty one.
///
/// The geometry (slots used, levels, the newest level's fill) lives in the key store's LMDB `meta`
/// and changes in the same transaction as the writes it describes, so every reader sees the files
/// as of its own transaction: a slot at or past `slotsUsed` belongs to a transaction it cannot
/// see. Every write — a new slot and its bucket, an erasure's overwrite — happens inside a key-store
/// write transaction (LMDB's writer lock serialises them across processes); new slots are flushed
/// (``flush()``) before their transaction commits, an erasure's overwrite once its transaction
/// ends (``overwrite(slot:of:in:)``).
final class SubjectSlots: @unchecked Sendable {
    // Invariant: both descriptors are open from init to deinit; `pread`/`pwrite` on them are
    // thread-safe. `written`, `flushed` and `pending` are only touched under `lock`.
    private let slotsFile: Int32
    private let indexFile: Int32
    /// Reads go through mappings (a lookup probes several levels: a `pread` each cost an import
    /// about a fifth of its time); writes go through `pwrite`, which the mappings see at once.
    private let slotsView: GrowingFileView
    private let indexView: GrowingFileView
    private let lock = NSLock()
    /// How many writes were made, and how many of them the last completed flush covered: a flush
    /// returns only once every write made before it began is on disk, also when another thread's
    /// flush is under way (an erasure flushes after its transaction, beside an append's commit).
    private var written: UInt64 = 0
    private var flushed: UInt64 = 0
    /// What ``add(_:to:)`` wrote since the last ``commitWrites()`` or ``discardWrites(after:)``:
    /// each slot and its bucket.
    private var pending: [(slot: UInt64, bucket: Int)] = []
    let directory: String

    static let recordSize = 128
    static let bucketSize = 8
    /// Buckets of the first level; each level doubles it.
    static let firstLevelBuckets = 1 << 12
    static let slotsName = "slots"
    static let indexName = "index"
    private static let erasedBucket: UInt32 = 0xFFFF_FFFF

    /// Where the geometry says the files stand; kept in the key store's `meta` (24 bytes).
    struct Geometry: Equatable, Sendable {
        /// Slots handed out so far (committed ones, as the transaction reading it sees them).
        var slotsUsed: UInt64 = 0
        /// Levels of the index.
        var levels: Int = 0
        /// Buckets taken in the newest level (erased ones included).
        var newestFill: UInt64 = 0

        init() {}

        /// Decodes the stored form, `nil` when it is not 24 bytes or impossible.
        init?(stored: [UInt8]) {
            guard stored.count == 24 else { return nil }
            func u64(_ at: Int) -> UInt64 { stored[at..<at + 8].reduce(0) { $0 << 8 | UInt64($1) } }
            slotsUsed = u64(0)
            let levelCount = u64(8)
            newestFill = u64(16)
            guard levelCount <= 32, slotsUsed < UInt64(SubjectSlots.erasedBucket),
                levelCount > 0 || (slotsUsed == 0 && newestFill == 0),
                levelCount == 0 || newestFill <= UInt64(SubjectSlots.firstLevelBuckets << (levelCount - 1)) / 2
            else { return nil }
            levels = Int(levelCount)
        }

        var stored: [UInt8] {
            [slotsUsed, UInt64(levels), newestFill].flatMap { value in
                (0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
            }
        }
    }

    /// One subject's record as a slot holds it.
    struct Record: Equatable, Sendable {
        let lookupHash: [UInt8]
        let pseudonym: [UInt8]
        let wrappedKey: [UInt8]

        /// The 128 bytes of a slot: the record's 108 bytes, their check (8), zeros (12).
        var bytes: [UInt8] {
            let body = lookupHash + pseudonym + wrappedKey
            let check = Self.check(of: body)
            return body + (0..<8).map { UInt8(truncatingIfNeeded: check >> ($0 * 8)) }
                + [UInt8](repeating: 0, count: 12)
        }

        /// What decoding a slot found.
        enum Decoded {
            case record(Record)
            /// All zeros: free or erased.
            case empty
            /// Neither: damaged, or read while an erasure was overwriting it.
            case unreadable
        }

        /// Decodes the 128 bytes of a slot.
        static func decode(_ slot: UnsafeRawBufferPointer) -> Decoded {
            guard slot.contains(where: { $0 != 0 }) else { return .empty }
            let check = (0..<8).reduce(UInt64(0)) { $0 | UInt64(slot[108 + $1]) << ($1 * 8) }
            guard slot.count == SubjectSlots.recordSize, slot[116..<128].allSatisfy({ $0 == 0 }),
                Self.check(of: UnsafeRawBufferPointer(rebasing: slot[0..<108])) == check
            else { return .unreadable }
            return .record(
                Record(
                    lookupHash: Array(slot[0..<32]),
                    pseudonym: Array(slot[32..<48]),
                    wrappedKey: Array(slot[48..<108])
                )
            )
        }

        /// FNV-1a (64 bits) of a record's bytes: catches a damaged slot, and a slot read while an
        /// erasure overwrote it, which is then read again (not a defence against tampering: the
        /// wrapped key is authenticated by AES-GCM, the lookup hash compared in full).
        private static func check(of bytes: some Sequence<UInt8>) -> UInt64 {
            bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 }
        }

        init(lookupHash: [UInt8], pseudonym: [UInt8], wrappedKey: [UInt8]) {
            self.lookupHash = lookupHash
            self.pseudonym = pseudonym
            self.wrappedKey = wrappedKey
        }
    }

    /// Opens (creating when absent) the two files in `directory`, never through a symbolic link
    /// at their names (``WritableFile``).
    /// - Parameter creating: Whether missing files may be made; otherwise a missing file throws
    ///   `key_missing`, since every subject's key is in it.
    /// - Throws: ``LedgerError`` `key_missing` as above; `io_error` when a symbolic link, or
    ///   anything other than a regular file, is at either name, or a file cannot be opened.
    init(directory: String, creating: Bool) throws {
        self.directory = directory
        let slots = try Self.open(Self.slotsName, in: directory, creating: creating)
        let index: Int32
        do {
            index = try Self.open(Self.indexName, in: directory, creating: creating)
        } catch {
            close(slots)
            throw error
        }
        slotsFile = slots
        indexFile = index
        slotsView = GrowingFileView(descriptor: slots, reserving: 1 << 36, name: Self.slotsName)
        indexView = GrowingFileView(descriptor: index, reserving: 1 << 34, name: Self.indexName)
    }

    deinit {
        close(slotsFile)
        close(indexFile)
    }

    /// Opens the file `name` in `directory` for reading and writing, creating it when `creating`.
    private static func open(_ name: String, in directory: String, creating: Bool) throws -> Int32 {
        try WritableFile.open(
            directory + "/" + name,
            creating ? .openOrCreate : .openExisting(missing: missing(directory, name)),
            access: O_RDWR,
            name: "the key store's \(name) file"
        )
    }

    private static func missing(_ directory: String, _ name: String) -> LedgerError {
        LedgerError(
            .keyMissing,
            "the key store's \(name) file in \(directory) is missing; every subject's key is in it. Restore keys/ from a backup (docs/OPERATIONS.md, \"Restoring a backup\")"
        )
    }

    // MARK: Reading

    /// The record in slot `slot`, `nil` when the slot is zeros (erased).
    ///
    /// An erasure may be overwriting the slot while it is read (a reader holds no lock); a slot that
    /// does not decode is read again, and counts as erased when it is zeros then.
    /// - Throws: ``LedgerError`` `ledger_corrupt` when the slot is damaged.
    func record(at slot: UInt64) throws -> Record? {
        for attempt in 0..<3 {
            // Decoded from one copy: the mapping may change under a concurrent erasure.
            let copy = try withSlot(slot) { [UInt8]($0) }
            switch copy.withUnsafeBytes(Record.decode) {
            case .record(let record): return record
            case .empty: return nil
            case .unreadable: if attempt < 2 { usleep(100) }
            }
        }
        throw LedgerError(.ledgerCorrupt, "a slot of the key store is damaged")
    }

    /// Runs `body` with the 128 bytes of `slot`.
    private func withSlot<T>(_ slot: UInt64, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        try slotsView.withBytes(at: off_t(slot) * off_t(Self.recordSize), count: Self.recordSize) { bytes, inFile in
            guard inFile == Self.recordSize else {
                throw LedgerError(.ledgerCorrupt, "the key store's slots file is shorter than its subjects need")
            }
            return try body(bytes)
        }
    }

    /// The slot and record of the subject with `lookupHash`, if one is live in `geometry`.
    func find(lookupHash: [UInt8], in geometry: Geometry) throws -> (slot: UInt64, record: Record)? {
        var found: (UInt64, Record)?
        try forEachCandidate(of: lookupHash, in: geometry) { _, slot in
            guard slot < geometry.slotsUsed else { return true }
            // The hash compared where it lies first: most candidates are not it.
            guard try withSlot(slot, { $0.prefix(32).elementsEqual(lookupHash) }),
                let record = try record(at: slot), record.lookupHash == lookupHash
            else { return true }
            found = (slot, record)
            return false
        }
        return found
    }

    /// Calls `body` with the position and slot of every bucket whose tag matches `lookupHash`'s,
    /// newest level first, until it returns `false`.
    private func forEachCandidate(
        of lookupHash: [UInt8],
        in geometry: Geometry,
        _ body: (_ bucket: Int, _ slot: UInt64) throws -> Bool
    ) throws {
        let tag = Self.tag(of: lookupHash)
        let home = Self.home(of: lookupHash)
        levels: for level in (0..<geometry.levels).reversed() {
            let capacity = Self.firstLevelBuckets << level
            let start = Self.firstBucket(ofLevel: level)
            var probe = Int(truncatingIfNeeded: home) & (capacity - 1)
            var probed = 0
            while probed < capacity {
                let length = min(16, capacity - probe)
                // Past the end of the file every bucket is empty (levels are made by writing
                // zeros, which a crash may have cut short; what was never written reads as empty).
                let next = try indexView.withBytes(
                    at: off_t(start + probe) * off_t(Self.bucketSize),
                    count: length * Self.bucketSize
                ) { run, _ -> Probe in
                    for i in 0..<length {
                        let slotPlusOne = Self.u32(run, i * Self.bucketSize)
                        if slotPlusOne == 0 { return .nextLevel }
                        if slotPlusOne != Self.erasedBucket, Self.u32(run, i * Self.bucketSize + 4) == tag {
                            guard try body(start + probe + i, UInt64(slotPlusOne - 1)) else { return .done }
                        }
                    }
                    return .onward
                }
                switch next {
                case .onward: break
                case .nextLevel: continue levels
                case .done: return
                }
                probed += length
                probe = (probe + length) & (capacity - 1)
            }
        }
    }

    /// Where a probe goes after a run of buckets.
    private enum Probe {
        case onward, nextLevel, done
    }

    // MARK: Writing (inside a key-store write transaction)

    /// Writes `record` into the next free slot and indexes it; returns the slot and the geometry
    /// to store in the same transaction. Before that transaction commits, call
    /// ``commitWrites()``; when it (or a nested transaction it was made in) is rolled back,
    /// ``discardWrites(after:)``.
    func add(_ record: Record, to geometry: Geometry) throws -> (slot: UInt64, geometry: Geometry) {
        var next = geometry
        let slot = next.slotsUsed
        guard slot + 1 < UInt64(Self.erasedBucket) else {
            throw LedgerError(.ledgerFull, "the key store holds the most subjects it can number (2^32 - 2)")
        }
        if next.levels == 0 || next.newestFill * 2 >= UInt64(Self.firstLevelBuckets << (next.levels - 1)) {
            try addLevel(next.levels)
            next.levels += 1
            next.newestFill = 0
        }
        let level = next.levels - 1
        let capacity = Self.firstLevelBuckets << level
        var probe = Int(truncatingIfNeeded: Self.home(of: record.lookupHash)) & (capacity - 1)
        var bucket: Int?
        // The first bucket that is empty or marked erased (marks left by erasures and by refused
        // batches count in no level's fill, so only reusing them keeps a level from filling up).
        for _ in 0..<capacity {
            let position = Self.firstBucket(ofLevel: level) + probe
            let free = try indexView.withBytes(at: off_t(position) * off_t(Self.bucketSize), count: Self.bucketSize) {
                run,
                _ in
                let slotPlusOne = Self.u32(run, 0)
                return slotPlusOne == 0 || slotPlusOne == Self.erasedBucket
            }
            if free {
                bucket = position
                break
            }
            probe = (probe + 1) & (capacity - 1)
        }
        guard let bucket else { throw LedgerError(.ledgerCorrupt, "a level of the key store's index is full") }
        // Noted before anything is written, so a write that fails is still undone.
        lock.lock()
        pending.append((slot, bucket))
        lock.unlock()
        try write(record.bytes, to: slotsFile, at: off_t(slot) * off_t(Self.recordSize), what: "slots")
        try write(
            Self.bucket(slotPlusOne: UInt32(slot + 1), tag: Self.tag(of: record.lookupHash)),
            to: indexFile,
            at: off_t(bucket) * off_t(Self.bucketSize),
            what: "index"
        )
        next.newestFill += 1
        next.slotsUsed += 1
        return (slot, next)
    }

    /// Overwrites `slot` with zeros and every index bucket naming it with an erased mark, in
    /// place; call it inside a key-store write transaction, then ``flush()`` (before it commits, or
    /// after it ends). Nothing else ever writes an existing slot or a bucket naming it, and the
    /// writer lock keeps every other writer, in any process, out meanwhile.
    ///
    /// A slot that is zeros already, or damaged, no longer says where its buckets are (an
    /// overwrite may have reached the disk only in part before a crash): then every bucket of the
    /// index is read. The zeros are written again all the same, so the flush that follows covers
    /// them even if an earlier flush of them failed.
    /// - Throws: ``LedgerError`` `ledger_corrupt` when the slot holds another subject than
    ///   `pseudonym` (the key store's two halves do not belong together; nothing is overwritten).
    func overwrite(slot: UInt64, of pseudonym: [UInt8], in geometry: Geometry) throws {
        guard slot < geometry.slotsUsed else {
            throw LedgerError(.ledgerCorrupt, "the key store names a slot past the slots in use")
        }
        let buckets: [Int]
        switch try withSlot(slot, { Record.decode($0) }) {
        case .record(let record):
            guard record.pseudonym == pseudonym else {
                throw LedgerError(.ledgerCorrupt, "the key store's slot of a subject holds another subject")
            }
            buckets = try self.buckets(naming: slot, of: record.lookupHash, in: geometry)
        case .empty, .unreadable:
            buckets = try bucketsNaming(slot, in: geometry)
        }
        for bucket in buckets { try markErased(bucket: bucket) }
        Failpoint.hit("slots.afterBucket")
        try zero(slot: slot)
    }

    /// The buckets naming `slot` among those `lookupHash` probes.
    private func buckets(naming slot: UInt64, of lookupHash: [UInt8], in geometry: Geometry) throws -> [Int] {
        var naming: [Int] = []
        try forEachCandidate(of: lookupHash, in: geometry) { position, candidate in
            if candidate == slot { naming.append(position) }
            return true
        }
        return naming
    }

    /// Every bucket of every level that names `slot`, found by reading them all (a damaged or
    /// zeroed slot's lookup hash, which says where its buckets are, is lost).
    private func bucketsNaming(_ slot: UInt64, in geometry: Geometry) throws -> [Int] {
        let wanted = UInt32(truncatingIfNeeded: slot + 1)
        let total = Self.firstBucket(ofLevel: geometry.levels)
        let run = 1 << 13
        var found: [Int] = []
        var start = 0
        while start < total {
            let length = min(run, total - start)
            try indexView.withBytes(at: off_t(start) * off_t(Self.bucketSize), count: length * Self.bucketSize) {
                bytes,
                _ in
                for i in 0..<length where Self.u32(bytes, i * Self.bucketSize) == wanted { found.append(start + i) }
            }
            start += length
        }
        return found
    }

    /// Whether any slot past `geometry.slotsUsed` holds anything: what a writer killed after
    /// flushing its new subjects' slots (or whose commit then failed) may have left behind
    /// (``clearAbandoned(after:)``). Reads to the end of the file, which is past the slots in use
    /// only after such a failure.
    func hasAbandoned(after geometry: Geometry) throws -> Bool {
        var slot = geometry.slotsUsed
        while let bytes = try slotBytes(slot) {
            if case .empty = bytes.withUnsafeBytes(Record.decode) {
                slot += 1
                continue
            }
            return true
        }
        return false
    }

    /// Erases every slot past `geometry.slotsUsed` and the buckets naming it, and flushes them:
    /// the records of subjects that were never created. Call it holding the key store's writer
    /// lock, so no writer is midway through its own new slots. Their buckets may lie in a level
    /// the failed writer added, so every level the index file holds is probed; the buckets reach
    /// the disk before the slots are zeroed, so a crash between leaves no bucket a later call
    /// cannot find.
    /// - Returns: How many slots it erased.
    func clearAbandoned(after geometry: Geometry) throws -> Int {
        var scan = geometry
        while try indexView.withBytes(
            at: off_t(Self.firstBucket(ofLevel: scan.levels)) * off_t(Self.bucketSize),
            count: Self.bucketSize,
            { _, inFile in inFile == Self.bucketSize }
        ) {
            scan.levels += 1
        }
        var abandoned: [UInt64] = []
        var slot = geometry.slotsUsed
        while let bytes = try slotBytes(slot) {
            defer { slot += 1 }
            let buckets: [Int]
            switch bytes.withUnsafeBytes(Record.decode) {
            case .empty: continue
            case .record(let record): buckets = try self.buckets(naming: slot, of: record.lookupHash, in: scan)
            case .unreadable: buckets = try bucketsNaming(slot, in: scan)
            }
            for bucket in buckets { try markErased(bucket: bucket) }
            abandoned.append(slot)
        }
        guard !abandoned.isEmpty else { return 0 }
        try sync(indexFile, what: "index")
        for slot in abandoned { try zero(slot: slot) }
        try flush()
        return abandoned.count
    }

    /// A copy of the 128 bytes of `slot`, or `nil` when the file ends before it.
    private func slotBytes(_ slot: UInt64) throws -> [UInt8]? {
        try slotsView.withBytes(at: off_t(slot) * off_t(Self.recordSize), count: Self.recordSize) { bytes, inFile in
            inFile == Self.recordSize ? [UInt8](bytes) : nil
        }
    }

    /// Before the transaction that wrote them commits: flushes them, so a committed slot is always
    /// on disk, and forgets them.
    func commitWrites() throws {
        try flush()
        lock.lock()
        pending = []
        lock.unlock()
    }

    /// How many writes ``add(_:to:)`` has noted since the last commit or discard: a mark to
    /// discard back to (``discardWrites(after:)``) when a nested transaction rolls back.
    var writeMark: Int {
        lock.lock()
        defer { lock.unlock() }
        return pending.count
    }

    /// When the transaction (or nested transaction) that wrote them is rolled back, while the
    /// writer lock is still held: erases every slot and bucket ``add(_:to:)`` wrote after `mark`.
    /// Nothing else can have taken them: a nested transaction's slots are past the slots in use of
    /// the transaction it rolls back into, and no other writer runs meanwhile. The next flush (the
    /// next commit's) takes the zeros to the disk.
    func discardWrites(after mark: Int = 0) throws {
        lock.lock()
        let writes = Array(pending.dropFirst(mark))
        lock.unlock()
        for (slot, bucket) in writes {
            try markErased(bucket: bucket)
            try zero(slot: slot)
        }
        lock.lock()
        pending.removeLast(min(writes.count, pending.count))
        lock.unlock()
    }

    /// Overwrites `slot` with zeros.
    private func zero(slot: UInt64) throws {
        try write(
            [UInt8](repeating: 0, count: Self.recordSize),
            to: slotsFile,
            at: off_t(slot) * off_t(Self.recordSize),
            what: "slots"
        )
    }

    /// Overwrites `bucket` with the erased mark (no slot, no tag).
    private func markErased(bucket: Int) throws {
        try write(
            Self.bucket(slotPlusOne: Self.erasedBucket, tag: 0),
            to: indexFile,
            at: off_t(bucket) * off_t(Self.bucketSize),
            what: "index"
        )
    }

    /// Flushes (`fdatasync` of each file) every write made before this call, unless a flush
    /// that began after the last of them has completed.
    func flush() throws {
        lock.lock()
        let target = written
        let done = flushed >= target
        lock.unlock()
        guard !done else { return }
        guard fdatasync(slotsFile) == 0, fdatasync(indexFile) == 0 else {
            throw LedgerError(.ioError, "cannot flush the key store's slots: \(String(cString: strerror(errno)))")
        }
        lock.lock()
        flushed = max(flushed, target)
        lock.unlock()
    }

    /// `fdatasync`s one of the two files.
    private func sync(_ file: Int32, what: String) throws {
        guard fdatasync(file) == 0 else {
            throw LedgerError(.ioError, "cannot flush the key store's \(what): \(String(cString: strerror(errno)))")
        }
    }

    /// Empties both files (the first step of writing them anew from another store).
    func truncate() throws {
        slotsView.forgetSize()
        indexView.forgetSize()
        guard ftruncate(slotsFile, 0) == 0, ftruncate(indexFile, 0) == 0 else {
            throw LedgerError(.ioError, "cannot empty the key store's slots")
        }
        lock.lock()
        written += 1
        lock.unlock()
    }

    /// Copies the first `geometry.slotsUsed` slots and the whole index into `directory` (a
    /// backup), flushed. Run inside the key store's writer lock, so neither file changes meanwhile.
    func copy(_ geometry: Geometry, to directory: String) throws {
        let target = try SubjectSlots(directory: directory, creating: true)
        try Self.copyBytes(
            from: slotsFile,
            to: target.slotsFile,
            count: off_t(geometry.slotsUsed) * off_t(Self.recordSize)
        )
        var info = stat()
        guard fstat(indexFile, &info) == 0 else { throw LedgerError(.ioError, "cannot read the key store's index") }
        try Self.copyBytes(from: indexFile, to: target.indexFile, count: info.st_size)
        guard fsync(target.slotsFile) == 0, fsync(target.indexFile) == 0 else {
            throw LedgerError(.ioError, "cannot flush the backup's key slots")
        }
    }

    private static func copyBytes(from source: Int32, to target: Int32, count: off_t) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: off_t = 0
        while offset < count {
            let length = Int(min(off_t(buffer.count), count - offset))
            let read = buffer.withUnsafeMutableBytes { pread(source, $0.baseAddress, length, offset) }
            guard read == length else { throw LedgerError(.ioError, "cannot read the key store's slots to copy them") }
            let written = buffer.withUnsafeBytes { pwrite(target, $0.baseAddress, length, offset) }
            guard written == length else { throw LedgerError(.ioError, "cannot write the backup's key slots") }
            offset += off_t(length)
        }
    }

    /// Makes level `level` empty: zeros over whatever an aborted transaction may have left there.
    private func addLevel(_ level: Int) throws {
        let zeros = [UInt8](repeating: 0, count: 1 << 16)
        var offset = off_t(Self.firstBucket(ofLevel: level)) * off_t(Self.bucketSize)
        let end = offset + off_t(Self.firstLevelBuckets << level) * off_t(Self.bucketSize)
        while offset < end {
            let length = Int(min(off_t(zeros.count), end - offset))
            try write(Array(zeros[0..<length]), to: indexFile, at: offset, what: "index")
            offset += off_t(length)
        }
    }

    /// `pwrite`s `bytes`, counted for the next ``flush()`` once written (a flush that began before
    /// the count may have missed the bytes, and does not count them as flushed).
    private func write(_ bytes: [UInt8], to file: Int32, at offset: off_t, what: String) throws {
        let count = bytes.withUnsafeBytes { pwrite(file, $0.baseAddress, $0.count, offset) }
        let failure = errno
        lock.lock()
        written += 1
        lock.unlock()
        guard count == bytes.count else {
            if failure == ENOSPC {
                throw LedgerError(.ledgerFull, "the disk is full: cannot write the key store's \(what)")
            }
            throw LedgerError(.ioError, "cannot write the key store's \(what): \(String(cString: strerror(failure)))")
        }
    }

    // MARK: Layout

    private static func firstBucket(ofLevel level: Int) -> Int { firstLevelBuckets * ((1 << level) - 1) }

    /// The lookup hash's bytes 4..<12: where its probe starts in every level (an HMAC output, so
    /// any of its bytes are uniform).
    private static func home(of lookupHash: [UInt8]) -> UInt64 {
        lookupHash[4..<12].reduce(0) { $0 << 8 | UInt64($1) }
    }

    private static func tag(of lookupHash: [UInt8]) -> UInt32 {
        lookupHash[0..<4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    private static func bucket(slotPlusOne: UInt32, tag: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: slotPlusOne >> ($0 * 8)) }
            + (0..<4).map { UInt8(truncatingIfNeeded: tag >> ($0 * 8)) }
    }

    private static func u32(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self))
    }
}

/// A read-only view of a file that only grows, through one mapping reserved at open: a mapping
/// never moves, so no reader can be left holding an unmapped pointer, and it is read only where
/// the file (its size as last seen by `fstat`) has bytes, so reading never faults past its end.
/// Beyond the reservation, or when it could not be made, reads use `pread`.
private final class GrowingFileView: @unchecked Sendable {
    // Invariant: `base` is mapped (or nil) from init to deinit; `knownSize` is only touched under
    // `lock`, and never exceeds the file's size (it is forgotten before the file is truncated).
    private let descriptor: Int32
    private let base: UnsafeRawPointer?
    private let reserved: Int
    private let name: String
    private let lock = NSLock()
    private var knownSize = 0

    init(descriptor: Int32, reserving reserved: Int, name: String) {
        self.descriptor = descriptor
        self.name = name
        let mapped = mmap(nil, reserved, PROT_READ, MAP_SHARED, descriptor, 0)
        if let mapped, mapped != MAP_FAILED {
            base = UnsafeRawPointer(mapped)
            self.reserved = reserved
        } else {
            base = nil
            self.reserved = 0
        }
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), reserved) }
    }

    /// Runs `body` with `count` bytes at `offset` and how many of them are in the file (the rest
    /// read as zeros).
    func withBytes<T>(
        at offset: off_t,
        count: Int,
        _ body: (UnsafeRawBufferPointer, _ inFile: Int) throws -> T
    ) throws -> T {
        let end = Int(offset) + count
        if let base, end <= reserved, end <= size(reaching: end) {
            return try body(UnsafeRawBufferPointer(start: base + Int(offset), count: count), count)
        }
        return try withUnsafeTemporaryAllocation(byteCount: count, alignment: 8) { buffer in
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            let read = pread(descriptor, buffer.baseAddress, count, offset)
            guard read >= 0 else { throw LedgerError(.ioError, "cannot read the key store's \(name)") }
            return try body(UnsafeRawBufferPointer(buffer), read)
        }
    }

    /// Forgets the size last seen, before the file is truncated (only while no other reader can
    /// use this view: the move of a key store of the first layout, at open).
    func forgetSize() {
        lock.lock()
        knownSize = 0
        lock.unlock()
    }

    /// The file's size, asked of the file system again only when `needed` is past it.
    private func size(reaching needed: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        if knownSize < needed {
            var info = stat()
            if fstat(descriptor, &info) == 0 { knownSize = max(knownSize, Int(info.st_size)) }
        }
        return knownSize
    }
}
