import Foundation

/// The two meta pages at the head of an LMDB `data.mdb`, read with `pread` before LMDB maps the
/// file, so damage that LMDB would trust is refused first.
///
/// Hand-written because LMDB keeps no checksums: a meta page whose transaction id was changed
/// makes LMDB pick it and follow an old or bogus tree (writes then overwrite live pages, or an
/// assertion aborts the process), and a file shorter than its meta says is mapped past its end
/// (SIGBUS on the first read there). The layout is LMDB 0.9's (`mdb.c`, 64-bit, little-endian as the host writes it):
///
/// ```
/// page header (16 bytes): mp_pgno u64 @0, mp_pad u16 @8, mp_flags u16 @10, lower/upper @12
/// MDB_meta after it:      mm_magic u32 @0 (0xBEEFC0DE), mm_version u32 @4, mm_address @8,
///                         mm_mapsize @16, mm_dbs[2] (48 bytes each) @24, mm_last_pg @120,
///                         mm_txnid @128; the page size is mm_dbs[0].md_pad (@24)
/// ```
///
/// A commit of transaction *t* writes meta page *t* mod 2, so a healthy file holds two consecutive
/// transaction ids, each on the page of its parity (or 0 on both, before the first commit; a
/// compacting copy starts with 0 and 1).
struct MetaPages {
    /// One meta page's fields that the checks use.
    struct Meta {
        var pageNumber: UInt64
        var flags: UInt16
        var magic: UInt32
        var version: UInt32
        var pageSize: UInt32
        var lastPage: UInt64
        var transaction: UInt64
    }

    private static let headerSize = 16
    private static let magic: UInt32 = 0xBEEF_C0DE
    private static let metaFlag: UInt16 = 0x08
    private static let metaSize = 136

    /// Checks the data file of the environment in `directory`, if it has one with content.
    /// - Throws: ``LedgerError`` `ledger_corrupt` naming the fault and the file.
    static func check(environmentAt directory: String) throws {
        let path = directory + "/data.mdb"
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }  // LMDB creates it, or reports why it cannot
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_size > 0 else { return }
        let fileSize = UInt64(info.st_size)
        let first = try read(descriptor, at: 0, path: path)
        guard first.magic == magic, first.pageSize >= 512, first.pageSize <= 65_536 else {
            throw damaged(path, "meta page 0 is not an LMDB meta page")
        }
        let second = try read(descriptor, at: off_t(first.pageSize), path: path)
        let metas = [first, second]
        for (index, meta) in metas.enumerated() {
            guard meta.magic == magic, meta.version == 1, meta.pageNumber == UInt64(index),
                meta.flags & metaFlag != 0, meta.pageSize == first.pageSize
            else { throw damaged(path, "meta page \(index) is damaged") }
        }
        let (t0, t1) = (first.transaction, second.transaction)
        let consecutive = (t0 == 0 && t1 == 0) || (t0 % 2 == 0 && t1 % 2 == 1 && max(t0, t1) - min(t0, t1) == 1)
        guard consecutive else {
            throw damaged(path, "its meta pages name transactions \(t0) and \(t1), which no commit writes")
        }
        let newest = t1 > t0 ? second : first
        let (pages, overflow) = newest.lastPage.addingReportingOverflow(1)
        let (needed, tooBig) = pages.multipliedReportingOverflow(by: UInt64(newest.pageSize))
        guard !overflow, !tooBig, needed <= fileSize else {
            throw damaged(
                path,
                "it is truncated: its meta page needs \(newest.lastPage &+ 1) pages, the file holds \(fileSize / UInt64(newest.pageSize)) (a copy cut short?)"
            )
        }
    }

    private static func damaged(_ path: String, _ fault: String) -> LedgerError {
        LedgerError(
            .ledgerCorrupt,
            "\(path) is damaged: \(fault). Nothing was changed; restore it from a backup (docs/OPERATIONS.md)"
        )
    }

    private static func read(_ descriptor: Int32, at offset: off_t, path: String) throws -> Meta {
        var bytes = [UInt8](repeating: 0, count: headerSize + metaSize)
        let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, offset) }
        guard count == bytes.count else { throw damaged(path, "it is too short to hold its meta pages") }
        func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * $1) } }
        let meta = headerSize
        return Meta(
            pageNumber: u64(0),
            flags: u16(10),
            magic: u32(meta),
            version: u32(meta + 4),
            pageSize: u32(meta + 24),
            lastPage: u64(meta + 120),
            transaction: u64(meta + 128)
        )
    }
}
