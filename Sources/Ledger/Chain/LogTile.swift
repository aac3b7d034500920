/// One resource of the log as C2SP tlog-tiles publishes it (https://c2sp.org/tlog-tiles): a tile
/// of Merkle tree hashes, `tile/<L>/<N>[.p/<W>]`, an entry bundle, `tile/entries/<N>[.p/<W>]`
/// (each entry an event's 32-byte hash, the data its leaf hashes: `SHA-256(0x00 ‖ entry)`), or —
/// beside them, at a URL of its own as the spec asks of another format — a bundle of the same
/// events' export records, `records/<N>[.p/<W>]`.
///
/// Tiles have height 8. The tile `N` of level `L` lists the hashes of the perfect subtrees of
/// 256^L leaves numbered `N·256 … N·256 + W − 1`: leaf hashes at level 0, at level 1 and above
/// the root of a full tile of the level below. A full tile lists 256 hashes (8,192 bytes); the
/// rightmost tile of a level may be partial, with 1 to 255. Entry bundle `N` holds entries
/// `N·256 …`, each as a big-endian `uint16` length and the entry's bytes.
public struct LogTile: Hashable, Sendable, CustomStringConvertible {
    /// What a tile lists.
    public enum Kind: Hashable, Sendable {
        /// Merkle tree hashes: at tile level `level`, the roots of subtrees of 256^level leaves.
        case hashes(level: UInt8)
        /// The log's entries: each event's hash.
        case entries
        /// The events' export records (not a tlog-tiles resource: the ledger's own, beside them).
        case records
    }

    /// The tile height: each level of tiles is eight levels of the tree.
    public static let height = 8
    /// The width of a full tile.
    public static let fullWidth = 256
    /// The bytes of one hash.
    public static let hashSize = 32
    /// The highest tile level a path may name (C2SP: 0 to 63).
    public static let highestLevel: UInt8 = 63
    /// The longest entry an entry bundle holds (its length is a `uint16`).
    public static let longestEntry = Int(UInt16.max)

    /// Hashes of a level, or entries.
    public let kind: Kind
    /// The tile's index within its level (`N`).
    public let index: UInt64
    /// How many hashes or entries it lists: 256 for a full tile, 1 to 255 for a partial one.
    public let width: Int

    init(kind: Kind, index: UInt64, width: Int = LogTile.fullWidth) {
        self.kind = kind
        self.index = index
        self.width = width
    }

    /// Whether the tile lists 256 hashes or entries.
    public var isFull: Bool { width == Self.fullWidth }

    /// The tile level: 0 for leaf hashes and for entry bundles.
    public var level: UInt8 {
        switch kind {
        case .hashes(let level): return level
        case .entries, .records: return 0
        }
    }

    /// The tree level of the hashes it lists: `8 × level`.
    var treeLevel: Int { Int(level) * Self.height }

    /// How many leaves the tree needs for this tile (the end index of its last hash or entry);
    /// `nil` when no tree of at most `UInt64.max` leaves can hold it.
    public var leavesNeeded: UInt64? {
        guard treeLevel < UInt64.bitWidth else { return nil }
        let (first, overflow) = index.multipliedReportingOverflow(by: UInt64(Self.fullWidth))
        let (hashes, added) = first.addingReportingOverflow(UInt64(width))
        guard !overflow, !added, hashes.leadingZeroBitCount >= treeLevel else { return nil }
        return hashes << UInt64(treeLevel)
    }

    /// Whether the tree of the first `size` leaves determines this tile: its hashes or entries
    /// are all within the tree. That holds for the tree's own tiles and for the partial tiles of
    /// every smaller tree.
    public func isDetermined(byTreeOf size: UInt64) -> Bool {
        leavesNeeded.map { $0 <= size } ?? false
    }

    /// The path below the log's prefix: `tile/0/x001/234`, `tile/entries/000.p/7`, `records/000`.
    public var path: String {
        let folder: String
        switch kind {
        case .hashes(let level): folder = "tile/" + String(level)
        case .entries: folder = "tile/entries"
        case .records: folder = "records"
        }
        return folder + "/" + Self.encodedIndex(index) + (isFull ? "" : ".p/" + String(width))
    }

    /// The path.
    public var description: String { path }

    /// `n` in groups of three digits, all but the last prefixed with `x`: 1234067 is
    /// `x001/x234/067`.
    public static func encodedIndex(_ n: UInt64) -> String {
        var groups = [threeDigits(n % 1_000)]
        var rest = n / 1_000
        while rest > 0 {
            groups.append("x" + threeDigits(rest % 1_000))
            rest /= 1_000
        }
        return groups.reversed().joined(separator: "/")
    }

    private static func threeDigits(_ n: UInt64) -> String {
        let digits = String(n)
        return String(repeating: "0", count: 3 - digits.count) + digits
    }
}

// MARK: Reading a path

extension LogTile {
    /// The most `/`-separated parts a tile path has: `tile`, the level, seven groups of the
    /// index (`UInt64.max` has 20 digits) and the width.
    private static let mostPathParts = 11
    /// The longest tile path: `tile/entries/x018/x446/x744/x073/x709/x551/615.p/255` is 50 bytes.
    private static let longestPath = 64

    /// Reads a tile path, `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]` or
    /// `records/<N>[.p/<W>]`, exactly as C2SP tlog-tiles writes it: no other spelling of the same
    /// tile is taken.
    /// - Throws: ``LedgerError`` `invalid_field` naming what is malformed (never echoing the path).
    public init(path: some StringProtocol) throws {
        var parts = String(path.prefix(Self.longestPath + 1)).split(separator: "/", omittingEmptySubsequences: false)
        guard path.utf8.count <= Self.longestPath, parts.count >= 2, parts.count <= Self.mostPathParts,
            parts[0] == "tile" && parts.count >= 3 || parts[0] == "records"
        else {
            throw LedgerError(
                .invalidField,
                "a tile path is tile/<level>/<index>[.p/<width>] or records/<index>[.p/<width>]"
            )
        }
        let kind: Kind
        let indexStart: Int
        if parts[0] == "records" {
            kind = .records
            indexStart = 1
        } else if parts[1] == "entries" {
            kind = .entries
            indexStart = 2
        } else if let level = Self.decimal(parts[1], atMost: UInt64(Self.highestLevel)) {
            kind = .hashes(level: UInt8(level))
            indexStart = 2
        } else {
            throw LedgerError(.invalidField, "a tile level is entries or a number from 0 to 63, with no leading zero")
        }
        var width = Self.fullWidth
        if let last = parts.last, parts.count >= indexStart + 2, parts[parts.count - 2].hasSuffix(".p") {
            guard let partial = Self.decimal(last, atMost: UInt64(Self.fullWidth - 1)), partial >= 1 else {
                throw LedgerError(
                    .invalidField,
                    "a partial tile's width is a number from 1 to 255, with no leading zero"
                )
            }
            width = Int(partial)
            parts.removeLast()
            parts[parts.count - 1] = parts[parts.count - 1].dropLast(2)
        }
        self.init(kind: kind, index: try Self.decodedIndex(parts[indexStart...]), width: width)
    }

    /// The index from its groups: `x` and three digits, then three digits; no group of zeros first.
    private static func decodedIndex(_ groups: ArraySlice<Substring>) throws -> UInt64 {
        var index: UInt64 = 0
        for (position, group) in zip(groups.indices, groups) {
            let isLast = position == groups.index(before: groups.endIndex)
            let digits = isLast ? group[...] : group.dropFirst()
            guard isLast || group.first == "x", digits.count == 3, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                let value = UInt64(digits)
            else {
                throw LedgerError(
                    .invalidField,
                    "a tile index is groups of three digits, all but the last prefixed with x (x001/x234/067)"
                )
            }
            guard position == groups.startIndex || index > 0 else {
                throw LedgerError(.invalidField, "a tile index has no leading group of zeros")
            }
            let (scaled, overflow) = index.multipliedReportingOverflow(by: 1_000)
            let (sum, carried) = scaled.addingReportingOverflow(value)
            guard !overflow, !carried else { throw LedgerError(.invalidField, "the tile index is too large") }
            index = sum
        }
        return index
    }

    /// A decimal number with no sign and no leading zero, at most `maximum`.
    private static func decimal(_ text: Substring, atMost maximum: UInt64) -> UInt64? {
        guard !text.isEmpty, text.count <= 20, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
            text == "0" || text.first != "0", let value = UInt64(text), value <= maximum
        else { return nil }
        return value
    }
}

// MARK: The tiles of a tree

extension LogTile {
    /// The tiles that publish the tree of the first `size` leaves, as C2SP tlog-tiles lists
    /// them: its entry bundles, the bundles of export records beside them, then each level's
    /// tiles from level 0 up; at each level the full tiles, then the partial one when
    /// `⌊size / 256^L⌋ mod 256` is not 0.
    public static func tiles(ofTreeOf size: UInt64) -> TreeTiles { TreeTiles(size: size) }

    /// How many tiles ``tiles(ofTreeOf:)`` lists.
    public static func count(ofTreeOf size: UInt64) -> Int {
        var count = 0
        var hashes = size
        while hashes > 0 {
            count += Int(hashes / UInt64(fullWidth)) + (hashes % UInt64(fullWidth) == 0 ? 0 : 1)
            hashes /= UInt64(fullWidth)
        }
        let bundles = Int(size / UInt64(fullWidth)) + (size % UInt64(fullWidth) == 0 ? 0 : 1)
        return count + 2 * bundles
    }
}

/// The tiles of one tree, in the order ``LogTile/tiles(ofTreeOf:)`` gives; computed as they are
/// listed, so a tree of any size costs no memory.
public struct TreeTiles: Sequence, IteratorProtocol, Sendable {
    /// The tree's size.
    public let size: UInt64
    /// The kind being listed; `nil` when done.
    private var kind: LogTile.Kind? = .entries
    /// The hashes (or entries) at the current level: `⌊size / 256^L⌋`.
    private var hashes: UInt64
    /// The next tile's index at the current level.
    private var nextIndex: UInt64 = 0

    init(size: UInt64) {
        self.size = size
        hashes = size
        if size == 0 { kind = nil }
    }

    /// The next tile, or `nil` after the last.
    public mutating func next() -> LogTile? {
        guard let kind else { return nil }
        let full = hashes / UInt64(LogTile.fullWidth)
        let rest = Int(hashes % UInt64(LogTile.fullWidth))
        if nextIndex < full {
            nextIndex += 1
            return LogTile(kind: kind, index: nextIndex - 1)
        }
        if nextIndex == full, rest > 0 {
            nextIndex += 1
            return LogTile(kind: kind, index: full, width: rest)
        }
        advance(from: kind)
        return next()
    }

    /// Moves to the level after `kind`'s: the records after the entries, level 0 after them, then
    /// up while hashes remain.
    private mutating func advance(from kind: LogTile.Kind) {
        nextIndex = 0
        switch kind {
        case .entries:
            self.kind = .records
        case .records:
            self.kind = .hashes(level: 0)
        case .hashes(let level):
            hashes /= UInt64(LogTile.fullWidth)
            self.kind = hashes > 0 ? .hashes(level: level + 1) : nil
        }
    }
}
