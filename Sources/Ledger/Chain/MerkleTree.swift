import Crypto

/// The RFC 9162 (Certificate Transparency v2) Merkle tree over the events (SPEC §4): leaf *i* is
/// `SHA-256(0x00 ‖ hash of seq i+1)`, an interior node `SHA-256(0x01 ‖ left ‖ right)`, the tree of
/// *n* leaves split at the largest power of two below *n*.
///
/// The ledger stores the hash of every perfect, aligned subtree (`level ‖ index`), written as
/// events are appended (O(1) amortised per append). Any range the RFC's algorithms need is then a
/// few stored nodes combined: roots and proofs take O(log n) reads.
public enum MerkleTree {
    /// SHA-256 of nothing: the root of the empty tree.
    public static let emptyRoot: [UInt8] = Array(SHA256.hash(data: [UInt8]()))

    /// `SHA-256(0x00 ‖ input)`.
    public static func leafHash(_ input: [UInt8]) -> [UInt8] { leafDigest(input).bytes }

    /// `SHA-256(0x01 ‖ left ‖ right)`.
    public static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] { nodeDigest(left, right).bytes }

    /// ``leafHash(_:)`` held inline, for the per-event path of ``MerkleAccumulator``.
    static func leafDigest(_ input: some DataProtocolBytes) -> InlineHash {
        var hasher = SHA256()
        withUnsafeBytes(of: UInt8(0)) { hasher.update(bufferPointer: $0) }
        input.feed(into: &hasher)
        return InlineHash(hasher.finalize())
    }

    /// ``nodeHash(_:_:)`` held inline, for the per-event path of ``MerkleAccumulator``.
    static func nodeDigest(_ left: some DataProtocolBytes, _ right: some DataProtocolBytes) -> InlineHash {
        var hasher = SHA256()
        withUnsafeBytes(of: UInt8(1)) { hasher.update(bufferPointer: $0) }
        left.feed(into: &hasher)
        right.feed(into: &hasher)
        return InlineHash(hasher.finalize())
    }

    /// The largest power of two strictly below `n` (n ≥ 2).
    static func split(_ n: UInt64) -> UInt64 {
        var k: UInt64 = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    /// The hash of the `count` leaves from `start`, as RFC 9162's MTH defines it, from perfect
    /// subtrees that `node(level, index)` returns. `start` must be aligned as the RFC's
    /// recursions align it (a multiple of the largest power of two ≤ count).
    static func rangeHash(
        start: UInt64,
        count: UInt64,
        node: (_ level: UInt8, _ index: UInt64) throws -> [UInt8]
    ) throws -> [UInt8] {
        if count == 0 { return emptyRoot }
        if count & (count - 1) == 0, start % count == 0 {
            return try node(UInt8(count.trailingZeroBitCount), start / count)
        }
        let k = split(count)
        return nodeHash(
            try rangeHash(start: start, count: k, node: node),
            try rangeHash(start: start + k, count: count - k, node: node)
        )
    }

    /// RFC 9162 §2.1.3.1: the inclusion proof of leaf `index` in the tree of `size` leaves.
    static func inclusionPath(
        index: UInt64,
        start: UInt64 = 0,
        size: UInt64,
        node: (_ level: UInt8, _ index: UInt64) throws -> [UInt8]
    ) throws -> [[UInt8]] {
        guard size > 1 else { return [] }
        let k = split(size)
        if index < k {
            return try inclusionPath(index: index, start: start, size: k, node: node)
                + [try rangeHash(start: start + k, count: size - k, node: node)]
        }
        return try inclusionPath(index: index - k, start: start + k, size: size - k, node: node)
            + [try rangeHash(start: start, count: k, node: node)]
    }

    /// RFC 9162 §2.1.4.1: the consistency proof from the tree of `old` leaves to that of `new`.
    static func consistencyPath(
        old: UInt64,
        new: UInt64,
        node: (_ level: UInt8, _ index: UInt64) throws -> [UInt8]
    ) throws -> [[UInt8]] {
        guard old > 0, old < new else { return [] }
        return try subproof(m: old, start: 0, n: new, complete: true, node: node)
    }

    private static func subproof(
        m: UInt64,
        start: UInt64,
        n: UInt64,
        complete: Bool,
        node: (_ level: UInt8, _ index: UInt64) throws -> [UInt8]
    ) throws -> [[UInt8]] {
        if m == n { return complete ? [] : [try rangeHash(start: start, count: n, node: node)] }
        let k = split(n)
        if m <= k {
            return try subproof(m: m, start: start, n: k, complete: complete, node: node)
                + [try rangeHash(start: start + k, count: n - k, node: node)]
        }
        return try subproof(m: m - k, start: start + k, n: n - k, complete: false, node: node)
            + [try rangeHash(start: start, count: k, node: node)]
    }

    // MARK: Verification (RFC 9162 §2.1.3.2 and §2.1.4.2)

    /// Whether `path` proves leaf `leafHash` at `index` in a tree of `size` leaves with `root`.
    public static func verifyInclusion(
        leafHash: [UInt8],
        index: UInt64,
        size: UInt64,
        path: [[UInt8]],
        root: [UInt8]
    ) -> Bool {
        guard index < size else { return false }
        var fn = index
        var sn = size - 1
        var r = leafHash
        for p in path {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0, fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// Whether `path` proves that the tree of `newSize` leaves with `newRoot` extends the tree of
    /// `oldSize` leaves with `oldRoot`.
    public static func verifyConsistency(
        oldSize: UInt64,
        newSize: UInt64,
        oldRoot: [UInt8],
        newRoot: [UInt8],
        path: [[UInt8]]
    ) -> Bool {
        if oldSize == newSize { return path.isEmpty && oldRoot == newRoot }
        guard oldSize > 0, oldSize < newSize else { return oldSize == 0 && path.isEmpty }
        var proof = path
        if oldSize & (oldSize - 1) == 0 { proof.insert(oldRoot, at: 0) }
        guard !proof.isEmpty else { return false }
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = proof[0]
        var sr = proof[0]
        for c in proof.dropFirst() {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0, fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return fr == oldRoot && sr == newRoot && sn == 0
    }
}
