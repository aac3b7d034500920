import Foundation
import Testing

@testable import Ledger

/// ``DataFileCheck/checkPages(of:)`` walks each tree a level at a time and reads consecutive pages
/// in one `pread`. These tests hold it to every page a tree names, whatever order and runs they
/// come in: a reference walk written here (depth first, a page at a time, from LMDB 0.9's layout)
/// finds the pages; a damaged header on each of them must be named, one on a page no tree names
/// (a free page) must not.
struct DataFileWalkTests {
    /// An events file of several thousand events written by several imports, so its tables' pages
    /// interleave, its log tree has branch levels, and old copies of pages lie free in it.
    private static func eventsFile(in directory: TemporaryDirectory) throws -> [UInt8] {
        let ledger = try Fixture.ledger(in: directory)
        for round in 0..<3 {
            let path = try ImportTests.file(in: directory, count: 1_500 + round)
            _ = try ImportTests.run(ledger, path)
        }
        let path = directory.ledger + "/events/data.mdb"
        return try #require(FileManager.default.contents(atPath: path).map { Array($0) })
    }

    @Test func everyPageATreeNamesIsCheckedAndNoOther() throws {
        let directory = TemporaryDirectory()
        let original = try Self.eventsFile(in: directory)
        let layout = ReferenceWalk(original)
        #expect(layout.treePages.count > 300, "a file of several hundred tree pages: \(layout.treePages.count)")
        #expect(layout.deepestTree >= 3, "a tree with two branch levels: \(layout.deepestTree)")
        // A level large enough to be checked in two halves on two threads.
        #expect(layout.largestLevel >= DataFileCheck.parallelLevel, "\(layout.largestLevel)")
        let free = Set(2..<(original.count / layout.pageSize)).subtracting(layout.treePages).subtracting(
            layout.overflowPages
        )
        #expect(!free.isEmpty, "the file holds free pages too")
        let scratch = directory.path + "/copy"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        func check(_ bytes: [UInt8]) throws {
            try Data(bytes).write(to: URL(fileURLWithPath: scratch + "/data.mdb"))
            let file = try #require(try DataFileCheck(directory: scratch))
            try file.checkPages(of: DataFileCheck.newest(try file.metas()))
        }
        try check(original)
        // A page's flags say neither branch nor leaf: named when a tree reaches the page.
        for page in layout.treePages.sorted() {
            var bytes = original
            bytes[page * layout.pageSize + 10] = 0x40
            let error = #expect(throws: LedgerError.self, "page \(page)") { try check(bytes) }
            #expect(error?.message.contains("page \(page) of copy/data.mdb is damaged") == true, "\(page)")
        }
        for page in free.sorted() {
            var bytes = original
            bytes[page * layout.pageSize + 10] = 0x40
            #expect(throws: Never.self, "free page \(page)") { try check(bytes) }
        }
    }

    @Test func aChildNamedTwiceIsDamageWhereverTheLevelSplits() throws {
        let directory = TemporaryDirectory()
        let original = try Self.eventsFile(in: directory)
        let layout = ReferenceWalk(original)
        let scratch = directory.path + "/copy"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        // The branch pages with the most children: their level is the one checked in two halves.
        let widest = layout.branches.sorted { $0.value.count > $1.value.count }.prefix(3)
        #expect(widest.count == 3)
        for (page, children) in widest {
            // The last child pointer names the first child again (and the first names the last).
            for (from, to) in [(0, children.count - 1), (children.count - 1, 0)] {
                var bytes = original
                let source = children[from].node
                let target = children[to].node
                // A child pointer is a node's first six bytes (mn_lo, mn_hi, mn_flags).
                bytes.replaceSubrange(target..<(target + 6), with: original[source..<(source + 6)])
                try Data(bytes).write(to: URL(fileURLWithPath: scratch + "/data.mdb"))
                let file = try #require(try DataFileCheck(directory: scratch))
                let error = #expect(throws: LedgerError.self, "branch page \(page)") {
                    try file.checkPages(of: DataFileCheck.newest(try file.metas()))
                }
                #expect(error?.code == .ledgerCorrupt)
                // The page named twice is the one named, as soon as it is named again.
                #expect(error?.message.contains("page \(children[from].child) of copy/data.mdb") == true)
            }
        }
    }
}

/// The pages of an LMDB data file's trees, found depth first a page at a time: the free-page
/// table, the main table and each named table recorded in the main table's leaves.
private struct ReferenceWalk {
    let pageSize: Int
    private(set) var treePages = Set<Int>()
    private(set) var overflowPages = Set<Int>()
    private(set) var deepestTree = 0
    /// Each branch page's child pointers: where each node lies in the file, and the child it names.
    private(set) var branches: [Int: [(node: Int, child: Int)]] = [:]
    /// The most pages one level of one tree holds.
    private(set) var largestLevel = 0
    private let file: [UInt8]

    init(_ file: [UInt8]) {
        self.file = file
        pageSize = Int(Self.u32(file, 16 + 24))
        // The meta page with the greater transaction id.
        let meta = Self.u64(file, pageSize + 16 + 128) > Self.u64(file, 16 + 128) ? pageSize : 0
        walk(dbAt: meta + 16 + 24, named: false)
        walk(dbAt: meta + 16 + 72, named: true)
    }

    private static func u16(_ bytes: [UInt8], _ at: Int) -> Int {
        bytes.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: at, as: UInt16.self)) }
    }

    private static func u32(_ bytes: [UInt8], _ at: Int) -> Int {
        bytes.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    }

    private static func u64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: UInt64.self) }
    }

    /// Walks the tree whose `MDB_db` record lies at byte `at`; with `named`, its leaves' records
    /// of named tables too.
    private mutating func walk(dbAt at: Int, named: Bool) {
        let root = Self.u64(file, at + 40)
        guard root != UInt64.max else { return }
        deepestTree = max(deepestTree, Self.u16(file, at + 6))
        var levels: [Int: Int] = [:]
        defer { largestLevel = max(largestLevel, levels.values.max() ?? 0) }
        var stack = [(Int(root), 1)]
        while let (page, level) = stack.popLast() {
            levels[level, default: 0] += 1
            treePages.insert(page)
            let base = page * pageSize
            let isLeaf = Self.u16(file, base + 10) & 0x02 != 0
            for index in 0..<((Self.u16(file, base + 12) - 16) / 2) {
                let node = base + Self.u16(file, base + 16 + 2 * index)
                let low = Self.u16(file, node)
                let high = Self.u16(file, node + 2)
                let flags = Self.u16(file, node + 4)
                let data = node + 8 + Self.u16(file, node + 6)
                if !isLeaf {
                    stack.append((low | high << 16 | flags << 32, level + 1))
                    branches[page, default: []].append((node, low | high << 16 | flags << 32))
                } else if flags == 0x01 {
                    // F_BIGDATA: the first of the overflow pages.
                    let first = Int(Self.u64(file, data))
                    let count = Self.u32(file, first * pageSize + 12)
                    overflowPages.formUnion(first..<(first + count))
                } else if flags == 0x02, named {
                    walk(dbAt: data, named: false)
                }
            }
        }
    }
}
