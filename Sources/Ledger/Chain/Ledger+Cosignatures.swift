import Foundation

extension Ledger {
    /// What ``addCosignatures(_:)`` stored.
    public struct CosignatureReceipt: Sendable, Equatable {
        /// The tree size the cosignatures are on.
        public let treeSize: UInt64
        /// The witnesses whose cosignature was stored (or replaced an older one of theirs).
        public let stored: [String]
        /// Witnesses whose cosignature the ledger held already at the same or a later time.
        public let unchanged: [String]
        /// Signature lines of keys the catalogue does not list as witnesses (the ledger's own
        /// among them), ignored as tlog-cosignature says.
        public let ignored: Int

        /// `{"treeSize","stored","unchanged","ignored"}`.
        public var json: JSONValue {
            .object([
                ("treeSize", .int(Int64(treeSize))), ("stored", .array(stored.map(JSONValue.string))),
                ("unchanged", .array(unchanged.map(JSONValue.string))), ("ignored", .int(Int64(ignored))),
            ])
        }
    }

    /// How far in the future a cosignature's time may lie (the witness's clock against ours).
    public static let cosignatureClockSkew: UInt64 = 600  // seconds

    /// Stores the cosignatures a checkpoint note carries from the witnesses the catalogue lists
    /// (C2SP tlog-cosignature/v1), after checking that the note is a checkpoint of this log — its
    /// origin, and its root at its tree size — and every listed witness's signature on it. Lines
    /// of other keys are ignored. Each witness keeps its newest cosignature per tree size.
    /// - Returns: Which witnesses' cosignatures were stored.
    /// - Throws: ``LedgerError`` `invalid_field` when the note is not of this log, not at its root,
    ///   carries no listed witness's cosignature, or a listed witness's does not verify or is dated
    ///   more than ``cosignatureClockSkew`` ahead; nothing is stored then.
    public func addCosignatures(_ note: SignedNote) throws -> CosignatureReceipt {
        let body = try CheckpointNoteBody(parsing: note.text)
        let origin = Checkpoint.origin(ledgerId: ledgerId)
        guard body.origin == origin else {
            throw LedgerError(.invalidField, "the note is a checkpoint of another log, not \(origin)")
        }
        guard body.extensionLines.isEmpty else {
            throw LedgerError(.invalidField, "this ledger's checkpoints have no extension lines")
        }
        let witnesses = try catalogue().witnesses
        let latest = UInt64(options.clock.now().milliseconds / 1000) + Self.cosignatureClockSkew
        var cosignatures: [Cosignature] = []
        var ignored = 0
        for line in note.signatures {
            guard let witness = witnesses.first(where: { $0.name == line.name && $0.keyID == line.keyHash }),
                let cosignature = try Cosignature(line: line, of: witness)
            else {
                ignored += 1
                continue
            }
            guard cosignature.isValid(for: note.text) else {
                throw LedgerError(.invalidField, "witness \(witness.name)'s cosignature does not verify")
            }
            guard cosignature.time <= latest else {
                throw LedgerError(.invalidField, "witness \(witness.name)'s cosignature is dated in the future")
            }
            guard !cosignatures.contains(where: { $0.witness == witness }) else {
                throw LedgerError(.invalidField, "witness \(witness.name) cosigned the note twice")
            }
            cosignatures.append(cosignature)
        }
        guard !cosignatures.isEmpty else {
            throw LedgerError(.invalidField, "the note carries no cosignature of a witness the catalogue lists")
        }
        let table = events.table(EventsSchema.cosignatures)
        return try storage {
            try events.write { txn in
                // The note's text must be, byte for byte, the one this ledger signs for that tree:
                // the cosignatures are shown on that text, and a witness signs bytes, not values.
                guard body.treeSize <= (try readHead(in: txn)).seq,
                    note.text
                        == Checkpoint.noteText(
                            origin: origin,
                            treeSize: body.treeSize,
                            rootHash: try merkleRoot(size: body.treeSize, in: txn)
                        )
                else {
                    throw LedgerError(
                        .invalidField,
                        "the note is not this log's checkpoint at tree size \(body.treeSize) (another root, or other text)"
                    )
                }
                var stored: [String] = []
                var unchanged: [String] = []
                for cosignature in cosignatures {
                    let key = Self.cosignatureKey(treeSize: body.treeSize, witness: cosignature.witness)
                    if let held = try txn.get(key, in: table), let heldTime = Self.storedTime(held),
                        heldTime >= cosignature.time
                    {
                        unchanged.append(cosignature.witness.name)
                        continue
                    }
                    try txn.put(Self.storedValue(cosignature), forKey: key, in: table)
                    stored.append(cosignature.witness.name)
                }
                return CosignatureReceipt(
                    treeSize: body.treeSize,
                    stored: stored,
                    unchanged: unchanged,
                    ignored: ignored
                )
            }
        }
    }

    /// The stored cosignatures on the checkpoint of `treeSize`, of the witnesses the catalogue
    /// lists now, in catalogue order.
    public func cosignatures(treeSize: UInt64) throws -> [Cosignature] {
        let witnesses = try catalogue().witnesses
        let table = events.table(EventsSchema.cosignatures)
        return try storage {
            try events.read { txn in
                try witnesses.compactMap { witness in
                    guard let value = try txn.get(Self.cosignatureKey(treeSize: treeSize, witness: witness), in: table),
                        let time = Self.storedTime(value)
                    else { return nil }
                    return Cosignature(witness: witness, time: time, signature: Array(value.suffix(64)))
                }
            }
        }
    }

    /// The largest tree size any listed witness has cosigned, if any.
    public func latestCosignedTreeSize() throws -> UInt64? {
        let witnesses = try catalogue().witnesses
        guard !witnesses.isEmpty else { return nil }
        let table = events.table(EventsSchema.cosignatures)
        return try storage {
            try events.read { txn in
                var found: UInt64?
                let suffixes = witnesses.map(Self.witnessSuffix)
                try txn.forEachReversed(in: table) { key, _ in
                    guard key.count > 8,
                        let size = EventsSchema.seq(fromKey: UnsafeRawBufferPointer(rebasing: key[0..<8]))
                    else { return true }
                    let suffix = Array(key[8...])
                    guard suffixes.contains(suffix) else { return true }
                    found = size
                    return false
                }
                return found
            }
        }
    }

    /// A listed witness and its newest cosignature.
    public struct WitnessStatus: Sendable, Equatable {
        /// The witness, as the catalogue lists it.
        public let witness: WitnessKey
        /// The largest tree size it cosigned, if any.
        public let latestTreeSize: UInt64?
        /// When it cosigned that tree size (seconds since the epoch).
        public let latestTime: UInt64?
    }

    /// Each witness the catalogue lists, in catalogue order, with the largest tree size it cosigned.
    public func witnessStatuses() throws -> [WitnessStatus] {
        let witnesses = try catalogue().witnesses
        guard !witnesses.isEmpty else { return [] }
        let suffixes = witnesses.map(Self.witnessSuffix)
        let table = events.table(EventsSchema.cosignatures)
        var latest: [Int: (size: UInt64, time: UInt64)] = [:]
        try storage {
            try events.read { txn in
                try txn.forEachReversed(in: table) { key, value in
                    guard key.count > 8,
                        let size = EventsSchema.seq(fromKey: UnsafeRawBufferPointer(rebasing: key[0..<8])),
                        let index = suffixes.firstIndex(of: Array(key[8...])), latest[index] == nil,
                        let time = Self.storedTime(Array(value))
                    else { return true }
                    latest[index] = (size, time)
                    return latest.count < witnesses.count
                }
            }
        }
        return witnesses.indices.map { index in
            WitnessStatus(
                witness: witnesses[index],
                latestTreeSize: latest[index]?.size,
                latestTime: latest[index]?.time
            )
        }
    }

    /// The checkpoint of the first `treeSize` events (the head's without) as a C2SP signed note:
    /// the ledger's Ed25519 note signature, then the stored cosignatures on it of the witnesses
    /// the catalogue lists (docs/AUDITING.md, "Checkpoints as signed notes"). Ed25519 signatures
    /// are deterministic: the same tree size and cosignatures give the same note.
    /// - Throws: ``LedgerError`` `invalid_field` when the log holds fewer than `treeSize` events.
    public func checkpointNote(treeSize: UInt64?) throws -> SignedNote {
        let checkpoint = try checkpoint(treeSize: treeSize)
        var note = try SignedNote.sign(checkpoint.noteText, name: checkpoint.origin, with: try signingKey())
        note.signatures += try cosignatures(treeSize: checkpoint.treeSize).map(\.line)
        return note
    }

    /// `u64 tree size ‖ key ID ‖ name`: one entry per witness and tree size.
    private static func cosignatureKey(treeSize: UInt64, witness: WitnessKey) -> [UInt8] {
        EventsSchema.seqKey(treeSize) + witnessSuffix(witness)
    }

    private static func witnessSuffix(_ witness: WitnessKey) -> [UInt8] { witness.keyID + Array(witness.name.utf8) }

    /// `u64 time ‖ signature`.
    private static func storedValue(_ cosignature: Cosignature) -> [UInt8] {
        EventsSchema.seqKey(cosignature.time) + cosignature.signature
    }

    private static func storedTime(_ value: [UInt8]) -> UInt64? {
        guard value.count == 8 + 64 else { return nil }
        return value.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }
}
