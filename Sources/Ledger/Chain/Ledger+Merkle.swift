import Crypto
import Foundation

extension Ledger {
    /// The Ed25519 key that signs checkpoints: `<ledger>/signing.key`, 64 hex characters, mode 0600.
    public static func signingKeyPath(for directory: String) -> String { directory + "/signing.key" }

    /// Creates the signing key when the ledger has none (`init` does this).
    /// - Returns: The public key, hex.
    @discardableResult
    public func ensureSigningKey() throws -> String {
        let path = Ledger.signingKeyPath(for: directory)
        if !FileManager.default.fileExists(atPath: path) {
            // Always the system's generator: a long-term key gains nothing from a seeded source, and
            // drawing from the injected one would shift every later draw of a reproducible fixture.
            let key = try Curve25519.Signing.PrivateKey(rawRepresentation: SystemRandomSource().bytes(32))
            // Never over anything at the name, a dangling symbolic link included.
            let fd = try WritableFile.open(path, .createNew, name: "the signing key")
            defer { close(fd) }
            let text = Array((Hex.encode(key.rawRepresentation) + "\n").utf8)
            guard text.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == text.count, fsync(fd) == 0 else {
                throw LedgerError(.ioError, "cannot write the signing key \(path)")
            }
        }
        return Hex.encode(try signingKey().publicKey.rawRepresentation)
    }

    func signingKey() throws -> Curve25519.Signing.PrivateKey {
        let path = Ledger.signingKeyPath(for: directory)
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw LedgerError(.keyMissing, "the ledger has no signing key; `ledgerctl init` creates one")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw LedgerError(
                .keyInsecure,
                "the signing key \(path) is readable by group or others; run chmod 600 on it"
            )
        }
        guard let text = FileManager.default.contents(atPath: path).flatMap({ String(data: $0, encoding: .utf8) }),
            let raw = Hex.decode(text.trimmingCharacters(in: .whitespacesAndNewlines)), raw.count == 32,
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        else { throw LedgerError(.keyInvalid, "the signing key \(path) does not hold 64 hexadecimal characters") }
        return key
    }

    /// The public key that checks this ledger's checkpoints, when it has a signing key.
    public func signingPublicKey() throws -> [UInt8] { Array(try signingKey().publicKey.rawRepresentation) }

    /// A signed checkpoint of the tree of the first `treeSize` events (the head's when `nil`):
    /// its root, and the hash and time of event `treeSize`.
    /// - Throws: ``LedgerError`` `invalid_field` when `treeSize` is beyond the head.
    public func checkpoint(treeSize: UInt64? = nil) throws -> Checkpoint {
        let key = try signingKey()
        let (head, root) = try storage {
            try events.read { txn in
                let head = try readHead(in: txn)
                let size = treeSize ?? head.seq
                guard size <= head.seq else {
                    throw LedgerError(.invalidField, "need treeSize ≤ \(head.seq) (the head); got \(size)")
                }
                return (try readHead(ofTreeOf: size, head: head, in: txn), try merkleRoot(size: size, in: txn))
            }
        }
        var checkpoint = Checkpoint(
            ledgerId: ledgerId,
            treeSize: head.seq,
            rootHash: root,
            headHash: head.hash,
            recordedAt: head.recordedAt,
            publicKey: Array(key.publicKey.rawRepresentation),
            signature: []
        )
        checkpoint.signature = Array(try key.signature(for: checkpoint.signedBytes))
        return checkpoint
    }

    /// The last event of the tree of the first `size` events: `head` itself, or event `size`.
    private func readHead(
        ofTreeOf size: UInt64,
        head: ChainHead,
        in txn: borrowing ReadTransaction
    ) throws -> ChainHead {
        guard size != head.seq else { return head }
        guard size > 0 else { return .empty }
        guard
            let event = try txn.get(EventsSchema.seqKey(size), in: events.table(EventsSchema.log))
                .flatMap({ raw in raw.withUnsafeBytes { StoredEvent(record: $0) } })
        else { throw LedgerError(.ledgerCorrupt, "the log has no event \(size)") }
        return ChainHead(seq: size, hash: event.hash, recordedAt: event.recordedAt)
    }

    /// A checkpoint of the log as committed now, as a C2SP tlog-checkpoint signed note (origin
    /// `consentledger/<ledgerId>`, tree size, base64 root), signed with the ledger's Ed25519 key
    /// under the origin as key name, with the stored witness cosignatures on it
    /// (``checkpointNote(treeSize:)``; docs/AUDITING.md, "Checkpoints as signed notes").
    public func checkpointNote() throws -> SignedNote {
        try checkpointNote(treeSize: nil)
    }

    /// The RFC 9162 root of the first `size` events.
    public func merkleRoot(size: UInt64) throws -> [UInt8] {
        try storage { try events.read { try merkleRoot(size: size, in: $0) } }
    }

    func merkleRoot(size: UInt64, in txn: borrowing some KeyValueReading & ~Copyable) throws -> [UInt8] {
        try MerkleTree.rangeHash(start: 0, count: size) { level, index in
            try MerkleStore.node(level, index, in: txn, events: events)
        }
    }

    /// The hashes of the inclusion proof of event `seq` in the tree of the first `treeSize` events
    /// (``proveInclusion(seq:treeSize:)``).
    public func inclusionProof(seq: UInt64, treeSize: UInt64) throws -> [[UInt8]] {
        try proveInclusion(seq: seq, treeSize: treeSize).hashes
    }

    /// The hashes of the consistency proof from the tree of the first `old` events to that of the
    /// first `new` (``proveConsistency(from:to:)``); none from the empty tree, which every tree extends.
    public func consistencyProof(from old: UInt64, to new: UInt64) throws -> [[UInt8]] {
        guard old > 0 else {
            guard new <= (try head().seq) else { throw LedgerError(.invalidField, "need old ≤ new ≤ the head") }
            return []
        }
        return try proveConsistency(from: old, to: new).hashes
    }

    /// Adds the Merkle leaves of events appended before this ledger kept a tree. Runs at open.
    func backfillMerkleTree() throws {
        try storage {
            let (size, head) = try events.read { txn in
                (try MerkleStore.size(in: txn, events: events), try readHead(in: txn).seq)
            }
            guard size < head else { return }
            Failpoint.hit("merkle.beforeBackfill")
            try events.write { txn in
                var seq = try MerkleStore.size(in: txn, events: events) + 1
                let log = events.table(EventsSchema.log)
                let last = try readHead(in: txn).seq
                while seq <= last {
                    guard let record = try txn.get(EventsSchema.seqKey(seq), in: log), record.count >= 64 else {
                        throw LedgerError(.ledgerCorrupt, "seq \(seq) is missing from the log")
                    }
                    try MerkleStore.append(
                        eventHash: Array(record[0..<32]),
                        previousHash: Array(record[32..<64]),
                        seq: seq,
                        in: txn,
                        events: events
                    )
                    seq += 1
                }
                try MerkleStore.setSize(last, in: txn, events: events)
            }
            logger.info("Merkle tree backfilled", metadata: ["events": "\(head - size)"])
        }
    }
}
