/// The RFC 9162 tree of ``MerkleTree`` grown one leaf at a time, in seq order, from the event
/// hashes alone: it keeps only the frontier (the root of each perfect subtree of the binary
/// decomposition of its size, O(log n) hashes), never a stored node.
///
/// ``ChainVerifier`` feeds it every event it verifies; `rebuild` compares the nodes it completes
/// with the ones the ledger stores.
public struct MerkleAccumulator: Sendable, Equatable {
    /// The levels of the frontier's subtrees, largest (leftmost) first.
    private var levels: [UInt8] = []
    /// The hashes of the frontier's subtrees, in the order of ``levels``, held inline so that a
    /// leaf allocates nothing once the frontier has grown to its size.
    private var hashes: [InlineHash] = []
    /// How many leaves the tree holds.
    public private(set) var size: UInt64 = 0

    /// The empty tree.
    public init() {}

    /// Adds the leaf of the event whose chain hash is `eventHash`.
    public mutating func append(eventHash: [UInt8]) {
        append(eventHash: eventHash) { _, _, _ in }
    }

    /// Adds the leaf of the event whose chain hash is `eventHash`, naming the nodes it completes.
    /// - Parameter completed: Called with level, index and hash of every interior node (level ≥ 1)
    ///   the leaf completes, lowest first: the nodes ``MerkleStore`` keeps.
    public mutating func append(
        eventHash: [UInt8],
        completed: (_ level: UInt8, _ index: UInt64, _ hash: [UInt8]) throws -> Void
    ) rethrows {
        try grow(leaf: MerkleTree.leafDigest(eventHash)) { try completed($0, $1, $2.bytes) }
    }

    /// Adds the leaf of the event whose chain hash is `eventHash`, allocating nothing.
    mutating func append(eventHash: InlineHash) {
        grow(leaf: MerkleTree.leafDigest(eventHash)) { _, _, _ in }
    }

    /// Adds the leaf of the event whose chain hash is `eventHash`, naming the nodes it completes
    /// as ``append(eventHash:completed:)`` does, with the hashes held inline.
    mutating func append(
        eventHash: InlineHash,
        completed: (_ level: UInt8, _ index: UInt64, _ hash: InlineHash) throws -> Void
    ) rethrows {
        try grow(leaf: MerkleTree.leafDigest(eventHash), completed: completed)
    }

    /// Adds a leaf hash, combining it with the frontier's subtrees of equal size.
    private mutating func grow(
        leaf leafHash: InlineHash,
        completed: (_ level: UInt8, _ index: UInt64, _ hash: InlineHash) throws -> Void
    ) rethrows {
        let leaf = size
        var hash = leafHash
        var level: UInt8 = 0
        while let last = levels.last, last == level, let left = hashes.last {
            levels.removeLast()
            hashes.removeLast()
            hash = MerkleTree.nodeDigest(left, hash)
            level += 1
            try completed(level, leaf >> UInt64(level), hash)
        }
        levels.append(level)
        hashes.append(hash)
        size += 1
    }

    /// The RFC 9162 root of the leaves added so far (SHA-256 of nothing for none).
    public var root: [UInt8] {
        guard var root = hashes.last else { return MerkleTree.emptyRoot }
        for left in hashes.dropLast().reversed() { root = MerkleTree.nodeDigest(left, root) }
        return root.bytes
    }
}
