import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Checks an LMDB data file (`data.mdb`) by reading it with `pread`, never through the map, so a
/// damaged or truncated file is refused with `ledger_corrupt` instead of killing the process.
///
/// Why this is hand-written: LMDB keeps no checksums of its pages and trusts its file completely.
/// It maps `data.mdb` and follows the page numbers, node offsets and sizes it finds there, so a
/// file cut short by a killed copy makes it touch the map past the end of the file (`SIGBUS`),
/// and one flipped byte in a page header or node can make it read far outside the page
/// (`SIGSEGV`). `mdb_page_get` checks only that a page number is below the last page; nothing else
/// is checked. Since no LMDB call can check a file without mapping it, the checks below read the
/// layout themselves.
///
/// The layout is LMDB 0.9's (`libraries/liblmdb/mdb.c` at `LMDB_0.9.24`, the version Debian's
/// `liblmdb-dev` ships), on a 64-bit platform where `pgno_t`, `txnid_t` and `size_t` are 8 bytes,
/// in the byte order of the machine that wrote the file:
///
/// - `MDB_page` header, `PAGEHDRSZ` = 16 bytes: `mp_pgno` u64 at 0, `mp_pad` u16 at 8, `mp_flags`
///   u16 at 10, `mp_lower` u16 at 12 and `mp_upper` u16 at 14 (an overflow page has `mp_pages`
///   u32 at 12 instead); then `mp_ptrs`, one u16 offset (from the page start) per node, so a page
///   holds `(mp_lower − 16) / 2` nodes.
/// - `MDB_meta`, after the header of pages 0 and 1 (`METADATA(p)`): `mm_magic` u32 at 0
///   (0xBEEFC0DE), `mm_version` u32 at 4 (1), `mm_address` at 8, `mm_mapsize` at 16,
///   `mm_dbs[2]` at 24 (the free-page table, then the main table), `mm_last_pg` at 120,
///   `mm_txnid` at 128. The page size `mm_psize` is `mm_dbs[0].md_pad`.
/// - `MDB_db`, 48 bytes: `md_pad` u32 at 0, `md_flags` u16 at 4, `md_depth` u16 at 6, three page
///   counts at 8, 16, 24, `md_entries` at 32, `md_root` at 40 (`P_INVALID`, all ones, when empty).
/// - `MDB_node`, `NODESIZE` = 8 bytes before the key: `mn_lo` u16 at 0 and `mn_hi` u16 at 2 (the
///   data size of a leaf node; in a branch node the child's page number, with `mn_flags` as its
///   top 16 bits), `mn_flags` u16 at 4, `mn_ksize` u16 at 6; the key, then the data. `F_BIGDATA`
///   data is the u64 number of the first overflow page, `F_SUBDATA` data is an `MDB_db`.
///
/// LMDB reads the meta page with the greater `mm_txnid` (`mdb_env_read_header`), reading page 1 at
/// the page size page 0 gives, and refuses the file when either meta page is invalid.
final class DataFileCheck: Sendable {
    /// What `mdb_env_read_header` takes from a meta page.
    struct Meta: Equatable, Sendable {
        /// Which meta page this is, 0 or 1.
        var page: UInt64
        var pageSize: Int
        var lastPage: UInt64
        var txnid: UInt64
        var free: Tree
        var main: Tree
    }

    /// An `MDB_db` record: the root of one B+tree.
    struct Tree: Equatable, Sendable {
        var flags: UInt16
        var depth: UInt16
        var root: UInt64
    }

    // MDB_page flags (mdb.c "Page Flags") and MDB_node flags ("Node Flags").
    private static let branchPage: UInt16 = 0x01  // P_BRANCH
    private static let leafPage: UInt16 = 0x02  // P_LEAF
    private static let overflowPage: UInt16 = 0x04  // P_OVERFLOW
    private static let metaPage: UInt16 = 0x08  // P_META
    private static let dirtyPage: UInt16 = 0x10  // P_DIRTY (cleared before a page is written)
    private static let bigData: UInt16 = 0x01  // F_BIGDATA
    private static let subData: UInt16 = 0x02  // F_SUBDATA
    private static let dupData: UInt16 = 0x04  // F_DUPDATA
    private static let magic: UInt32 = 0xBEEF_C0DE  // MDB_MAGIC
    private static let dataVersion: UInt32 = 1  // MDB_DATA_VERSION
    private static let headerSize = 16  // PAGEHDRSZ
    private static let nodeSize = 8  // NODESIZE
    private static let metaSize = 136  // sizeof(MDB_meta)
    private static let dbSize = 48  // sizeof(MDB_db)
    private static let invalidPage = UInt64.max  // P_INVALID
    private static let cursorStack = 32  // CURSOR_STACK: the deepest tree LMDB can walk
    // md_flags a table may have here: MDB_REVERSEKEY and MDB_INTEGERKEY. The ledger opens no table
    // with duplicates (MDB_DUPSORT and its kin), so a record claiming them is damage.
    private static let plainTableFlags: UInt16 = 0x02 | 0x08

    /// The fewest pages of a tree's level checked on two threads.
    static let parallelLevel = 256

    let path: String
    /// The file as messages name it, such as `events/data.mdb`.
    let name: String
    private let fd: Int32

    /// Opens `data.mdb` in `directory` for reading; `nil` when it does not exist or is empty (LMDB
    /// then creates a new environment).
    init?(directory: String) throws {
        path = directory + "/data.mdb"
        name = ((directory as NSString).lastPathComponent) + "/data.mdb"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw LedgerError(.ioError, "cannot open \(name) to check it (errno \(errno))")
        }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > 0 else {
            _ = close(fd)
            return nil
        }
        self.fd = fd
    }

    deinit { _ = close(fd) }

    // MARK: Meta pages and length

    /// Reads both meta pages as LMDB does and returns them (page 0 first).
    /// - Throws: `ledger_corrupt` naming the page when either is not a valid meta page.
    func metas() throws -> [Meta] {
        let first = try meta(at: 0, page: 0)
        let second = try meta(at: first.pageSize, page: 1)
        guard second.pageSize == first.pageSize else { throw damaged(1) }
        return [first, second]
    }

    /// Refuses meta pages whose transaction ids no sequence of commits writes: a commit of
    /// transaction *t* writes meta page *t* mod 2 (`mdb_env_write_meta`), so a healthy file holds
    /// two consecutive ids, each on the page of its parity, or 0 on both before the first commit
    /// (a compacting copy starts with 0 and 1). A changed id would make LMDB open the other, older
    /// tree, and the next commit overwrite live pages (all of a key store's subjects lost), or
    /// trip an assertion that aborts the process.
    /// - Throws: `ledger_corrupt` naming both ids.
    ///
    /// The two pages are read one after the other while other processes may commit, so a pair
    /// that looks wrong is read again a few times: damage stays, a race does not.
    func checkTransactions() throws {
        var (t0, t1): (UInt64, UInt64) = (0, 0)
        for attempt in 0..<5 {
            if attempt > 0 { usleep(2_000) }
            let metas = try metas()
            (t0, t1) = (metas[0].txnid, metas[1].txnid)
            if (t0 == 0 && t1 == 0) || (t0 % 2 == 0 && t1 % 2 == 1 && max(t0, t1) - min(t0, t1) == 1) { return }
        }
        throw LedgerError(
            .ledgerCorrupt,
            "\(name) is damaged: its meta pages name transactions \(t0) and \(t1), which no commit writes; nothing was changed. Restore it from a backup (docs/OPERATIONS.md)"
        )
    }

    /// The meta page LMDB opens: the one with the greater txnid.
    static func newest(_ metas: [Meta]) -> Meta {
        metas[1].txnid > metas[0].txnid ? metas[1] : metas[0]
    }

    /// Refuses a file shorter than the pages its newest meta page says it holds, unless every page
    /// missing at the end is a free page (LMDB does not write pages it freed in the transaction
    /// that allocated them, see `mm_last_pg` in mdb.c).
    /// - Throws: `ledger_corrupt` saying the file is truncated.
    func checkLength() throws {
        // The size after the meta pages: a writer extends the file before it commits a meta page.
        let meta = Self.newest(try metas())
        let fileSize = try size()
        let needed = (meta.lastPage + 1).multipliedReportingOverflow(by: UInt64(meta.pageSize))
        guard needed.overflow || needed.partialValue > UInt64(fileSize) else { return }
        let present = UInt64(fileSize / meta.pageSize)
        let truncated = LedgerError(
            .ledgerCorrupt,
            "\(name) is truncated: it has \(fileSize) bytes, fewer than its meta page says it holds (a copy or backup cut short leaves such a file); restore it from a complete backup"
        )
        guard !needed.overflow, meta.lastPage - present < 1 << 20 else { throw truncated }
        // Only the free-page table is read here: the tail may be missing only if all of it is free.
        var walk = Walk(file: self, meta: meta, tail: present)
        do {
            try walk.tree(meta.free, kind: .free, recordOn: meta.page)
        } catch {
            throw truncated
        }
        guard walk.freeTail.count == Int(meta.lastPage - present + 1) else { throw truncated }
    }

    private func size() throws -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw LedgerError(.ioError, "cannot read the size of \(name)") }
        return Int(info.st_size)
    }

    private func meta(at offset: Int, page: UInt64) throws -> Meta {
        var bytes = [UInt8](repeating: 0, count: Self.headerSize + Self.metaSize)
        let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
        guard count == bytes.count else {
            throw LedgerError(.ledgerCorrupt, "\(name) is truncated: meta page \(page) is missing")
        }
        let m = Self.headerSize
        guard bytes.u64(0) == page, bytes.u16(10) & Self.metaPage != 0, bytes.u32(m) == Self.magic,
            bytes.u32(m + 4) == Self.dataVersion
        else { throw damaged(page) }
        let pageSize = Int(bytes.u32(m + 24))
        guard pageSize >= 512, pageSize <= 0x8000, pageSize & (pageSize - 1) == 0 else { throw damaged(page) }
        return Meta(
            page: page,
            pageSize: pageSize,
            lastPage: bytes.u64(m + 120),
            txnid: bytes.u64(m + 128),
            free: Self.tree(bytes, at: m + 24),
            main: Self.tree(bytes, at: m + 72)
        )
    }

    private static func tree(_ bytes: [UInt8], at offset: Int) -> Tree {
        Tree(flags: bytes.u16(offset + 4), depth: bytes.u16(offset + 6), root: bytes.u64(offset + 40))
    }

    private func damaged(_ page: UInt64) -> LedgerError {
        LedgerError(
            .ledgerCorrupt,
            "page \(page) of \(name) is damaged; restore the ledger from a backup (docs/OPERATIONS.md)"
        )
    }

    // MARK: The page walk

    /// Checks every page reachable from `meta`'s free-page and main tables and from each named
    /// table, each once: O(file size), consecutive pages read by one `pread`.
    ///
    /// - Warning: Pages are read while other processes may write. Hold a read transaction of
    ///   `meta.txnid` open for the whole walk: LMDB then reuses none of its pages.
    /// - Throws: `ledger_corrupt` "page N of events/data.mdb is damaged" at the first failure.
    func checkPages(of meta: Meta) throws {
        if UInt64(try size() / meta.pageSize) <= meta.lastPage { try checkLength() }
        var walk = Walk(file: self, meta: meta, tail: nil)
        try walk.tree(meta.free, kind: .free, recordOn: meta.page)
        try walk.tree(meta.main, kind: .main, recordOn: meta.page)
        while let (named, holder) = walk.namedTables.popLast() { try walk.tree(named, kind: .named, recordOn: holder) }
    }

    private enum Kind: Sendable { case free, main, named }

    /// One walk: the pages seen so far (each page belongs to one tree, once) and the named tables
    /// still to walk.
    ///
    /// A tree is walked a level at a time, each level's pages in the order of their numbers, so
    /// consecutive pages are read by one `pread` of up to ``maxRunPages`` (a 200,000-event log
    /// takes 14,000 reads instead of 37,000). Only pages the tree names are read.
    private struct Walk: Sendable {
        /// The most pages one `pread` reads.
        static let maxRunPages = 64

        let file: DataFileCheck
        let meta: Meta
        var seen: [UInt64]
        /// The pages queued for the next level of the tree being walked: a page named twice is
        /// refused as it is named, so a level's list never outgrows the file's pages (a crafted
        /// branch page naming one child thousands of times would otherwise grow it without bound).
        var queued: [UInt64]
        /// Named tables still to walk, with the page holding each one's record.
        var namedTables: [(Tree, UInt64)] = []
        /// Free pages at or after `tail`, collected when `tail` is set (a file shorter than its
        /// meta page says).
        let tail: UInt64?
        var freeTail: Set<UInt64> = []

        init(file: DataFileCheck, meta: Meta, tail: UInt64?) {
            self.file = file
            self.meta = meta
            self.tail = tail
            seen = [UInt64](repeating: 0, count: Int(meta.lastPage / 64) + 1)
            queued = seen
        }

        /// Walks one table from its record (on page `holder`: a meta page, or a main-table leaf).
        mutating func tree(_ tree: Tree, kind: Kind, recordOn holder: UInt64) throws {
            if tree.root == invalidPage { return }
            guard tree.depth >= 1, Int(tree.depth) < cursorStack, tree.flags & ~plainTableFlags == 0 || kind == .free,
                tree.root >= 2, tree.root <= meta.lastPage
            else { throw file.damaged(holder) }
            var level: [UInt64] = [tree.root]
            var depth = 1
            while !level.isEmpty {
                level.sort()
                let isLeaf = depth == Int(tree.depth)
                level =
                    level.count >= DataFileCheck.parallelLevel
                    ? try checkOnBothCores(level, isLeaf: isLeaf, kind: kind)
                    : try check(level[...], isLeaf: isLeaf, kind: kind)
                depth += 1
            }
        }

        /// Checks the pages of one level, sorted, and returns their children.
        private mutating func check(_ level: ArraySlice<UInt64>, isLeaf: Bool, kind: Kind) throws -> [UInt64] {
            let pageSize = meta.pageSize
            var run = [UInt8](repeating: 0, count: pageSize * min(Self.maxRunPages, level.count))
            var children: [UInt64] = []
            var first = level.startIndex
            while first < level.endIndex {
                // The longest stretch of consecutive page numbers from `first`, up to a run.
                let start = level[first]
                var count = 1
                while first + count < level.endIndex, count < Self.maxRunPages,
                    level[first + count] == start + UInt64(count)
                {
                    count += 1
                }
                let read = run.withUnsafeMutableBytes {
                    pread(file.fd, $0.baseAddress, pageSize * count, off_t(start) * off_t(pageSize))
                }
                for index in 0..<count {
                    let number = start + UInt64(index)
                    try mark(number, count: 1, from: number)
                    // A page the file does not hold whole is damage, named by its number.
                    let offset = pageSize * index
                    guard read >= offset + pageSize else { throw file.damaged(number) }
                    try run.withUnsafeBytes { raw in
                        let page = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + pageSize)])
                        try check(page, number: number, isLeaf: isLeaf, kind: kind, children: &children)
                    }
                }
                first += count
            }
            return children
        }

        /// ``check(_:isLeaf:kind:)`` of a large level on two threads, each taking half the pages
        /// with its own copy of the walk; the copies are joined after. The halves split between two
        /// different page numbers, so a page named twice in the level is in one half and found
        /// there; a page reached twice across levels is in both copies' `seen`. Overflow pages
        /// two halves both claim are damage found at the join. The error named is the one of the
        /// lower half first: the page a walk in order names.
        private mutating func checkOnBothCores(_ level: [UInt64], isLeaf: Bool, kind: Kind) throws -> [UInt64] {
            var middle = level.count / 2
            while middle < level.count, level[middle] == level[middle - 1] { middle += 1 }
            let base = self
            let halves = try Parallel.map([level[..<middle], level[middle...]], threshold: 2) { pages in
                var walk = base
                walk.namedTables = []
                walk.freeTail = []
                let children = try walk.check(pages, isLeaf: isLeaf, kind: kind)
                return (walk: walk, children: children)
            }
            for (index, word) in seen.enumerated() {
                let low = halves[0].walk.seen[index] & ~word
                let high = halves[1].walk.seen[index] & ~word
                if low & high != 0 { throw file.damaged(UInt64(index * 64 + (low & high).trailingZeroBitCount)) }
                seen[index] = word | low | high
            }
            // A child both halves named.
            for (index, word) in queued.enumerated() {
                let low = halves[0].walk.queued[index] & ~word
                let high = halves[1].walk.queued[index] & ~word
                if low & high != 0 { throw file.damaged(UInt64(index * 64 + (low & high).trailingZeroBitCount)) }
                queued[index] = word | low | high
            }
            for half in halves {
                namedTables += half.walk.namedTables
                freeTail.formUnion(half.walk.freeTail)
            }
            return halves[0].children + halves[1].children
        }

        /// Checks page `number` of a tree: that it knows its own number, has the flags of its
        /// level, and holds nodes that lie within it; a branch's children are queued in `children`.
        private mutating func check(
            _ page: UnsafeRawBufferPointer,
            number: UInt64,
            isLeaf: Bool,
            kind: Kind,
            children: inout [UInt64]
        ) throws {
            guard page.u64(0) == number else { throw file.damaged(number) }
            let flags = page.u16(10) & ~dirtyPage
            guard flags == (isLeaf ? leafPage : branchPage) else { throw file.damaged(number) }
            let lower = Int(page.u16(12))
            let upper = Int(page.u16(14))
            guard lower >= headerSize, (lower - headerSize) % 2 == 0, lower <= upper, upper <= page.count else {
                throw file.damaged(number)
            }
            let nodes = (lower - headerSize) / 2
            guard isLeaf || nodes >= 1 else { throw file.damaged(number) }
            for index in 0..<nodes {
                let offset = Int(page.u16(headerSize + 2 * index))
                guard offset >= lower, offset + nodeSize <= page.count else { throw file.damaged(number) }
                #if _endian(big)
                let (low, high) = (UInt64(page.u16(offset + 2)), UInt64(page.u16(offset)))
                #else
                let (low, high) = (UInt64(page.u16(offset)), UInt64(page.u16(offset + 2)))
                #endif
                let nodeFlags = page.u16(offset + 4)
                let keySize = Int(page.u16(offset + 6))
                let data = offset + nodeSize + keySize
                guard data <= page.count else { throw file.damaged(number) }
                if !isLeaf {
                    let next = low | high << 16 | UInt64(nodeFlags) << 32
                    guard next >= 2, next <= meta.lastPage else { throw file.damaged(number) }
                    try queue(next)
                    children.append(next)
                    continue
                }
                let dataSize = Int(low | high << 16)
                switch nodeFlags {
                case 0:
                    guard data + dataSize <= page.count else { throw file.damaged(number) }
                    if kind == .free { try checkFreeList(Array(page[data..<data + dataSize]), in: number) }
                case bigData:
                    guard data + 8 <= page.count else { throw file.damaged(number) }
                    let first = page.u64(data)
                    try overflow(first, dataSize: dataSize, from: number)
                    if kind == .free {
                        let list = try file.bytes(first, count: dataSize, pageSize: meta.pageSize, from: number)
                        try checkFreeList(list, in: number)
                    }
                case subData where kind == .main:
                    guard dataSize == dbSize, data + dbSize <= page.count else { throw file.damaged(number) }
                    namedTables.append((DataFileCheck.tree(Array(page[data..<data + dbSize]), at: 0), number))
                default:
                    throw file.damaged(number)  // F_DUPDATA, or F_SUBDATA outside the main table
                }
            }
        }

        /// Checks the overflow pages from `first` that hold `dataSize` bytes of a node on `parent`.
        private mutating func overflow(_ first: UInt64, dataSize: Int, from parent: UInt64) throws {
            let needed = (headerSize - 1 + dataSize) / meta.pageSize + 1  // OVPAGES
            guard first >= 2, first <= meta.lastPage else { throw file.damaged(parent) }
            var header = [UInt8](repeating: 0, count: headerSize)
            let read = header.withUnsafeMutableBytes {
                pread(file.fd, $0.baseAddress, headerSize, off_t(first) * off_t(meta.pageSize))
            }
            guard read == headerSize, header.u64(0) == first, header.u16(10) & ~dirtyPage == overflowPage else {
                throw file.damaged(first)
            }
            let pages = Int(header.u32(12))
            guard pages >= needed, UInt64(pages) - 1 <= meta.lastPage - first else { throw file.damaged(first) }
            try mark(first, count: pages, from: first)
        }

        /// A free-page record: u64 count, then that many page numbers (an `MDB_IDL`).
        private mutating func checkFreeList(_ data: [UInt8], in number: UInt64) throws {
            guard data.count >= 8 else { throw file.damaged(number) }
            let count = data.u64(0)
            guard count <= UInt64(data.count / 8 - 1) else { throw file.damaged(number) }
            guard let tail else { return }
            for index in 0..<Int(count) {
                let free = data.u64(8 + 8 * index)
                if free >= tail, free <= meta.lastPage { freeTail.insert(free) }
            }
        }

        /// Queues `child` for the next level; refuses it, named, when it was queued before.
        private mutating func queue(_ child: UInt64) throws {
            let word = Int(child / 64)
            let bit = UInt64(1) << (child % 64)
            guard queued[word] & bit == 0 else { throw file.damaged(child) }
            queued[word] |= bit
        }

        private mutating func mark(_ first: UInt64, count: Int, from page: UInt64) throws {
            for number in first..<first + UInt64(count) {
                guard number <= meta.lastPage else { throw file.damaged(page) }
                let word = Int(number / 64)
                let bit = UInt64(1) << (number % 64)
                guard seen[word] & bit == 0 else { throw file.damaged(page) }
                seen[word] |= bit
            }
        }
    }

    /// `count` bytes of the data on the overflow pages from `first` (for free-page records).
    private func bytes(_ first: UInt64, count: Int, pageSize: Int, from page: UInt64) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let offset = off_t(first) * off_t(pageSize) + off_t(Self.headerSize)
        let read = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, offset) }
        guard read == count else { throw damaged(page) }
        return bytes
    }
}

extension UnsafeRawBufferPointer {
    /// The native-endian integers of LMDB's structures, read at any alignment.
    fileprivate func u16(_ offset: Int) -> UInt16 { loadUnaligned(fromByteOffset: offset, as: UInt16.self) }

    fileprivate func u64(_ offset: Int) -> UInt64 { loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
}

extension [UInt8] {
    /// The native-endian integers of LMDB's structures, read at any alignment.
    fileprivate func u16(_ offset: Int) -> UInt16 {
        withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt16.self) }
    }

    fileprivate func u32(_ offset: Int) -> UInt32 {
        withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    }

    fileprivate func u64(_ offset: Int) -> UInt64 {
        withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
    }
}
