import Crypto

/// The signature of a consent receipt (docs/RECEIPTS.md, "The receipt signature"): Ed25519 by the
/// ledger's checkpoint key over
/// `"CLrc2" ‖ i64 asOf (ms) ‖ u32 length ‖ canonical JSON of the JSON-LD @context (nothing in the
/// JSON form) ‖ canonical JSON of the record ‖ event hash (32) ‖ u64 tree size ‖ root (32)`
/// (big-endian), binding the record to the date its state is given for, to the meaning a JSON-LD
/// reader gives it, to the event and to the checkpoint it is proved against. The prefix keeps a
/// receipt signature from ever being mistaken for a checkpoint's (`"CLcp1"`).
public enum ReceiptSignature {
    /// The bytes the signature covers.
    /// - Parameters:
    ///   - record: The record's canonical JSON (``JSONValue/canonicalUTF8``).
    ///   - context: The canonical JSON of the JSON-LD form's `@context`; empty for the JSON form.
    ///   - asOf: The date the record's state is given for.
    ///   - eventHash: The hash of the event the record describes.
    ///   - checkpoint: The checkpoint the receipt's inclusion proof leads to.
    public static func signedBytes(
        record: [UInt8],
        context: [UInt8],
        asOf: Timestamp,
        eventHash: [UInt8],
        checkpoint: Checkpoint
    ) -> [UInt8] {
        var writer = ByteWriter(capacity: 96 + context.count + record.count)
        writer.write(Array("CLrc2".utf8))
        writer.write(i64: asOf.milliseconds)
        writer.write(u32: UInt32(clamping: context.count))
        writer.write(context)
        writer.write(record)
        writer.write(eventHash)
        writer.write(u64: checkpoint.treeSize)
        writer.write(checkpoint.rootHash)
        return writer.bytes
    }

    /// Whether `signature` is the checkpoint key's signature of these bytes.
    public static func isValid(
        _ signature: [UInt8],
        record: [UInt8],
        context: [UInt8],
        asOf: Timestamp,
        eventHash: [UInt8],
        checkpoint: Checkpoint
    ) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: checkpoint.publicKey) else {
            return false
        }
        return key.isValidSignature(
            signature,
            for: signedBytes(record: record, context: context, asOf: asOf, eventHash: eventHash, checkpoint: checkpoint)
        )
    }
}

extension Ledger {
    /// Signs a consent receipt with the ledger's checkpoint key (``ReceiptSignature``). The key never
    /// leaves the ledger, and it signs only `"CLrc2"`-prefixed receipt bytes here.
    /// - Parameters:
    ///   - record: The record's canonical JSON.
    ///   - context: The canonical JSON of the JSON-LD `@context`; empty for the JSON form.
    ///   - asOf: The date the record's state is given for.
    ///   - eventHash: The hash of the event the record describes.
    ///   - checkpoint: A checkpoint this ledger signed, which the receipt carries.
    /// - Throws: ``LedgerError`` `key_missing`, `key_insecure` or `key_invalid` (the signing key),
    ///   `invalid_field` when `checkpoint` was signed by another key.
    public func signReceipt(
        record: [UInt8],
        context: [UInt8],
        asOf: Timestamp,
        eventHash: [UInt8],
        checkpoint: Checkpoint
    ) throws -> [UInt8] {
        let key = try signingKey()
        guard Array(key.publicKey.rawRepresentation) == checkpoint.publicKey else {
            throw LedgerError(.invalidField, "the checkpoint was signed by another key than this ledger's")
        }
        return Array(
            try key.signature(
                for: ReceiptSignature.signedBytes(
                    record: record,
                    context: context,
                    asOf: asOf,
                    eventHash: eventHash,
                    checkpoint: checkpoint
                )
            )
        )
    }
}
