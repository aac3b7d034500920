/// An RFC 9162 §2.1.3 inclusion proof: event `leafIndex + 1` is leaf `leafIndex` of the tree of
/// the first `treeSize` events, whose root is `rootHash` (docs/AUDITING.md, "Proofs").
///
/// Its JSON (`docs/schemas/inclusion-proof.schema.json`) is what `GET /v1/proofs/inclusion` answers
/// and `ledgerctl prove --seq` prints; `hashes` is the RFC's PATH, leaf to root, which Go's
/// `sumdb/tlog.CheckRecord` and any RFC 9162 verifier take as it is.
public struct InclusionProof: Sendable, Equatable {
    /// The leaf's 0-based index: the event's seq minus one.
    public var leafIndex: UInt64
    /// How many events the tree covers.
    public var treeSize: UInt64
    /// The chain hash of the event (an export record's `hash`).
    public var eventHash: [UInt8]
    /// The tree's root.
    public var rootHash: [UInt8]
    /// The audit path, in RFC 9162 order.
    public var hashes: [[UInt8]]

    /// The event's seq.
    public var seq: UInt64 { leafIndex + 1 }

    /// The leaf: `SHA-256(0x00 ‖ eventHash)`.
    public var leafHash: [UInt8] { MerkleTree.leafHash(eventHash) }

    /// Whether the path leads from the leaf to the root (RFC 9162 §2.1.3.2).
    public var isValid: Bool {
        MerkleTree.verifyInclusion(leafHash: leafHash, index: leafIndex, size: treeSize, path: hashes, root: rootHash)
    }

    /// `{"type":"inclusion","seq","leafIndex","treeSize","eventHash","leafHash","rootHash","hashes"}`.
    public var json: JSONValue {
        .object([
            ("type", .string("inclusion")), ("seq", .int(Int64(seq))), ("leafIndex", .int(Int64(leafIndex))),
            ("treeSize", .int(Int64(treeSize))), ("eventHash", .string(Hex.encode(eventHash))),
            ("leafHash", .string(Hex.encode(leafHash))), ("rootHash", .string(Hex.encode(rootHash))),
            ("hashes", .array(hashes.map { .string(Hex.encode($0)) })),
        ])
    }

    /// Creates a proof from its parts.
    public init(leafIndex: UInt64, treeSize: UInt64, eventHash: [UInt8], rootHash: [UInt8], hashes: [[UInt8]]) {
        self.leafIndex = leafIndex
        self.treeSize = treeSize
        self.eventHash = eventHash
        self.rootHash = rootHash
        self.hashes = hashes
    }

    /// Reads a proof's JSON; a `leafHash` that does not match `eventHash` is refused.
    /// - Throws: ``LedgerError`` `invalid_json` or `invalid_field` naming what is wrong.
    public init(json value: JSONValue) throws {
        guard value["type"]?.stringValue == "inclusion" else {
            throw LedgerError(.invalidField, "an inclusion proof has \"type\": \"inclusion\"")
        }
        guard let leafIndex = value["leafIndex"]?.uint64Value, let treeSize = value["treeSize"]?.uint64Value else {
            throw LedgerError(.invalidField, "an inclusion proof needs leafIndex and treeSize")
        }
        self.init(
            leafIndex: leafIndex,
            treeSize: treeSize,
            eventHash: try ProofJSON.hash(value, "eventHash"),
            rootHash: try ProofJSON.hash(value, "rootHash"),
            hashes: try ProofJSON.hashes(value)
        )
        if let seq = value["seq"], seq.uint64Value != self.seq {
            throw LedgerError(.invalidField, "seq must be leafIndex + 1")
        }
        if value["leafHash"] != nil, try ProofJSON.hash(value, "leafHash") != leafHash {
            throw LedgerError(.invalidField, "leafHash is not SHA-256(0x00 ‖ eventHash)")
        }
    }
}

/// An RFC 9162 §2.1.4 consistency proof: the tree of the first `treeSize` events, with root
/// `rootHash`, extends the tree of the first `oldSize`, with root `oldRootHash`
/// (docs/AUDITING.md, "Proofs").
///
/// Its JSON (`docs/schemas/consistency-proof.schema.json`) is what `GET /v1/proofs/consistency`
/// answers and `ledgerctl prove --consistency` prints; `hashes` is the RFC's SUBPROOF, which Go's
/// `sumdb/tlog.CheckTree` and any RFC 9162 verifier take as it is.
public struct ConsistencyProof: Sendable, Equatable {
    /// The older tree's size (at least 1: RFC 9162 defines no proof from the empty tree).
    public var oldSize: UInt64
    /// The older tree's root.
    public var oldRootHash: [UInt8]
    /// The newer tree's size.
    public var treeSize: UInt64
    /// The newer tree's root.
    public var rootHash: [UInt8]
    /// The proof, in RFC 9162 order.
    public var hashes: [[UInt8]]

    /// Whether the proof shows the newer tree extends the older one (RFC 9162 §2.1.4.2).
    public var isValid: Bool {
        oldSize >= 1
            && MerkleTree.verifyConsistency(
                oldSize: oldSize,
                newSize: treeSize,
                oldRoot: oldRootHash,
                newRoot: rootHash,
                path: hashes
            )
    }

    /// `{"type":"consistency","oldSize","oldRootHash","treeSize","rootHash","hashes"}`.
    public var json: JSONValue {
        .object([
            ("type", .string("consistency")), ("oldSize", .int(Int64(oldSize))),
            ("oldRootHash", .string(Hex.encode(oldRootHash))), ("treeSize", .int(Int64(treeSize))),
            ("rootHash", .string(Hex.encode(rootHash))), ("hashes", .array(hashes.map { .string(Hex.encode($0)) })),
        ])
    }

    /// Creates a proof from its parts.
    public init(oldSize: UInt64, oldRootHash: [UInt8], treeSize: UInt64, rootHash: [UInt8], hashes: [[UInt8]]) {
        self.oldSize = oldSize
        self.oldRootHash = oldRootHash
        self.treeSize = treeSize
        self.rootHash = rootHash
        self.hashes = hashes
    }

    /// Reads a proof's JSON.
    /// - Throws: ``LedgerError`` `invalid_field` naming what is wrong.
    public init(json value: JSONValue) throws {
        guard value["type"]?.stringValue == "consistency" else {
            throw LedgerError(.invalidField, "a consistency proof has \"type\": \"consistency\"")
        }
        guard let oldSize = value["oldSize"]?.uint64Value, let treeSize = value["treeSize"]?.uint64Value else {
            throw LedgerError(.invalidField, "a consistency proof needs oldSize and treeSize")
        }
        self.init(
            oldSize: oldSize,
            oldRootHash: try ProofJSON.hash(value, "oldRootHash"),
            treeSize: treeSize,
            rootHash: try ProofJSON.hash(value, "rootHash"),
            hashes: try ProofJSON.hashes(value)
        )
    }
}

/// Reading the hex hashes of a proof's JSON.
enum ProofJSON {
    static func hash(_ value: JSONValue, _ name: String) throws -> [UInt8] {
        guard let text = value[name]?.stringValue, let bytes = Hex.decode(text), bytes.count == 32 else {
            throw LedgerError(.invalidField, "\(name) must be 64 hexadecimal characters")
        }
        return bytes
    }

    static func hashes(_ value: JSONValue) throws -> [[UInt8]] {
        guard let items = value["hashes"]?.arrayItems, items.count <= 64 else {
            throw LedgerError(.invalidField, "hashes must be an array of at most 64 hashes")
        }
        return try items.map { item in
            guard let text = item.stringValue, let bytes = Hex.decode(text), bytes.count == 32 else {
                throw LedgerError(.invalidField, "every entry of hashes must be 64 hexadecimal characters")
            }
            return bytes
        }
    }
}

extension Ledger {
    /// The inclusion proof of event `seq` in the tree of the first `treeSize` events (the head's
    /// when `nil`), read in one transaction with the root it leads to.
    /// - Throws: ``LedgerError`` `invalid_field` unless 1 ≤ seq ≤ treeSize ≤ the head.
    public func proveInclusion(seq: UInt64, treeSize: UInt64? = nil) throws -> InclusionProof {
        try storage {
            try events.read { txn in
                let head = try readHead(in: txn).seq
                let size = treeSize ?? head
                guard seq >= 1, seq <= size, size <= head else {
                    throw LedgerError(
                        .invalidField,
                        "need 1 ≤ seq ≤ treeSize ≤ \(head) (the head); got seq \(seq), treeSize \(size)"
                    )
                }
                guard let record = try txn.get(EventsSchema.seqKey(seq), in: events.table(EventsSchema.log)),
                    record.count >= 32
                else { throw LedgerError(.ledgerCorrupt, "the log has no event \(seq)") }
                return InclusionProof(
                    leafIndex: seq - 1,
                    treeSize: size,
                    eventHash: Array(record[0..<32]),
                    rootHash: try MerkleTree.rangeHash(start: 0, count: size) { level, index in
                        try MerkleStore.node(level, index, in: txn, events: events)
                    },
                    hashes: try MerkleTree.inclusionPath(index: seq - 1, size: size) { level, index in
                        try MerkleStore.node(level, index, in: txn, events: events)
                    }
                )
            }
        }
    }

    /// How many events a search by leaf hash reads in one read transaction.
    static let leafSearchChunk: UInt64 = 100_000

    /// Event S's inclusion proof, S being the event whose RFC 9162 leaf hash
    /// (`SHA-256(0x00 ‖ event hash)`) is `leafHash`, in the tree of the first `treeSize` events
    /// (the head's when `nil`), as CT's get-proof-by-hash gives it.
    ///
    /// No index maps leaf hashes to seqs (it would add a random-key write to every append): the
    /// log is read in seq order and each event's leaf hash computed: a cursor read and one
    /// SHA-256 of 33 bytes per event (docs/AUDITING.md, "Proofs on demand").
    /// - Throws: ``LedgerError`` `invalid_field` when `leafHash` is not 32 bytes or the tree is
    ///   larger than the log; `not_found` when no event of the tree has that leaf hash.
    public func proveInclusion(leafHash: [UInt8], treeSize: UInt64? = nil) throws -> InclusionProof {
        try proveInclusion(leafHash: leafHash, treeSize: treeSize, chunk: Self.leafSearchChunk)
    }

    /// ``proveInclusion(leafHash:treeSize:)`` reading `chunk` events a read transaction.
    func proveInclusion(leafHash: [UInt8], treeSize: UInt64?, chunk: UInt64) throws -> InclusionProof {
        guard let target = InlineHash(leafHash) else {
            throw LedgerError(.invalidField, "a leaf hash is 32 bytes (64 hexadecimal characters)")
        }
        let head = try head().seq
        let size = treeSize ?? head
        guard size <= head else {
            throw LedgerError(.invalidField, "need treeSize ≤ \(head) (the head); got \(size)")
        }
        // In chunks, a read transaction each: a long one would keep LMDB from reusing the pages
        // appends free meanwhile. The events never change, so the chunks see one log.
        var seq: UInt64?
        var after: UInt64 = 0
        while seq == nil, after < size {
            let last = min(size, after + max(chunk, 1))
            seq = try storage {
                try events.read { txn in
                    var found: UInt64?
                    let log = events.table(EventsSchema.log)
                    try txn.forEach(in: log, from: EventsSchema.seqKey(after + 1)) { key, value in
                        guard let seq = EventsSchema.seq(fromKey: key), seq <= last else { return false }
                        guard value.count >= 32 else {
                            throw LedgerError(.ledgerCorrupt, "event \(seq) is malformed")
                        }
                        if MerkleTree.leafDigest(UnsafeRawBufferPointer(rebasing: value[0..<32])) == target {
                            found = seq
                            return false
                        }
                        return true
                    }
                    return found
                }
            }
            after = last
        }
        guard let seq else {
            throw LedgerError(.notFound, "no event of the tree has leaf hash \(Hex.encode(leafHash))")
        }
        return try proveInclusion(seq: seq, treeSize: treeSize)
    }

    /// The consistency proof from the tree of the first `old` events to that of the first `new`
    /// (the head's when `nil`), read in one transaction with both roots.
    /// - Throws: ``LedgerError`` `invalid_field` unless 1 ≤ old ≤ new ≤ the head.
    public func proveConsistency(from old: UInt64, to new: UInt64? = nil) throws -> ConsistencyProof {
        try storage {
            try events.read { txn in
                let head = try readHead(in: txn).seq
                let size = new ?? head
                guard old >= 1, old <= size, size <= head else {
                    throw LedgerError(
                        .invalidField,
                        "need 1 ≤ from ≤ to ≤ \(head) (the head); got from \(old), to \(size)"
                    )
                }
                return ConsistencyProof(
                    oldSize: old,
                    oldRootHash: try MerkleTree.rangeHash(start: 0, count: old) { level, index in
                        try MerkleStore.node(level, index, in: txn, events: events)
                    },
                    treeSize: size,
                    rootHash: try MerkleTree.rangeHash(start: 0, count: size) { level, index in
                        try MerkleStore.node(level, index, in: txn, events: events)
                    },
                    hashes: try MerkleTree.consistencyPath(old: old, new: size) { level, index in
                        try MerkleStore.node(level, index, in: txn, events: events)
                    }
                )
            }
        }
    }
}
