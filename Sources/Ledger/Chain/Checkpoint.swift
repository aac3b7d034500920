import Crypto
import Foundation

/// A signed tree head (SPEC §4): the ledger's id, the tree size, its RFC 9162 root, the hash of
/// the last event and its `recordedAt`, signed with the ledger's Ed25519 key.
///
/// The signature is Ed25519 over `"CLcp1" ‖ s(ledgerId) ‖ u64(treeSize) ‖ rootHash ‖ headHash ‖
/// i64(recordedAt)` (raw 32-byte hashes; an empty tree signs `recordedAt` as 0).
public struct Checkpoint: Sendable, Equatable {
    /// The ledger's id, 32 hex characters.
    public var ledgerId: String
    /// How many events the tree covers.
    public var treeSize: UInt64
    /// The RFC 9162 Merkle root of the first `treeSize` events.
    public var rootHash: [UInt8]
    /// The chain hash of event `treeSize`.
    public var headHash: [UInt8]
    /// When event `treeSize` was recorded; `nil` for an empty ledger.
    public var recordedAt: Timestamp?
    /// The Ed25519 public key that signed it.
    public var publicKey: [UInt8]
    /// The Ed25519 signature over the checkpoint's signed text.
    public var signature: [UInt8]

    /// The bytes the signature covers.
    public var signedBytes: [UInt8] {
        var writer = ByteWriter(capacity: 128)
        writer.write(Array("CLcp1".utf8))
        writer.write(string: ledgerId)
        writer.write(u64: treeSize)
        writer.write(rootHash)
        writer.write(headHash)
        writer.write(i64: recordedAt?.milliseconds ?? 0)
        return writer.bytes
    }

    /// Whether the signature is valid for `publicKey`.
    public var hasValidSignature: Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: signedBytes)
    }

    /// `{"ledgerId","treeSize","rootHash","headHash","recordedAt","publicKey","signature"}`.
    public var json: JSONValue {
        .object([
            ("ledgerId", .string(ledgerId)), ("treeSize", .int(Int64(treeSize))),
            ("rootHash", .string(Hex.encode(rootHash))),
            ("headHash", .string(Hex.encode(headHash))), ("recordedAt", .string(recordedAt?.rfc3339 ?? "")),
            ("publicKey", .string(Hex.encode(publicKey))), ("signature", .string(Hex.encode(signature))),
        ])
    }

    /// Creates a checkpoint from its fields.
    public init(
        ledgerId: String,
        treeSize: UInt64,
        rootHash: [UInt8],
        headHash: [UInt8],
        recordedAt: Timestamp?,
        publicKey: [UInt8],
        signature: [UInt8]
    ) {
        self.ledgerId = ledgerId
        self.treeSize = treeSize
        self.rootHash = rootHash
        self.headHash = headHash
        self.recordedAt = recordedAt
        self.publicKey = publicKey
        self.signature = signature
    }

    /// Reads a checkpoint's JSON.
    /// - Throws: ``LedgerError`` `invalid_json` or `invalid_field` naming what is wrong.
    public init(json bytes: [UInt8]) throws {
        guard let value = JSONValue.parse(bytes), value.objectMembers != nil else {
            throw LedgerError(.invalidJSON, "a checkpoint must be a JSON object")
        }
        try self.init(json: value)
    }

    /// Reads a checkpoint from its parsed JSON object.
    /// - Throws: ``LedgerError`` `invalid_json` or `invalid_field` naming what is wrong.
    public init(json object: JSONValue) throws {
        guard object.objectMembers != nil else { throw LedgerError(.invalidJSON, "a checkpoint must be a JSON object") }
        func hex(_ name: String, _ count: Int) throws -> [UInt8] {
            guard let text = object[name]?.stringValue, let raw = Hex.decode(text), raw.count == count else {
                throw LedgerError(.invalidField, "\(name) must be \(count * 2) hexadecimal characters")
            }
            return raw
        }
        guard let ledgerId = object["ledgerId"]?.stringValue else {
            throw LedgerError(.invalidField, "ledgerId is missing")
        }
        // A tree size is a seq: a whole number the JSON writer can write back (at most Int64.max).
        guard let size = object["treeSize"]?.uint64Value, size <= UInt64(Int64.max) else {
            throw LedgerError(.invalidField, "treeSize must be a whole number from 0 to \(Int64.max)")
        }
        guard let recordedText = object["recordedAt"]?.stringValue else {
            throw LedgerError(.invalidField, "recordedAt is missing")
        }
        let recordedAt: Timestamp?
        if recordedText.isEmpty {
            recordedAt = nil
        } else {
            guard let time = Timestamp(rfc3339: recordedText) else {
                throw LedgerError(.invalidField, "recordedAt is not RFC 3339")
            }
            recordedAt = time
        }
        self.init(
            ledgerId: ledgerId,
            treeSize: size,
            rootHash: try hex("rootHash", 32),
            headHash: try hex("headHash", 32),
            recordedAt: recordedAt,
            publicKey: try hex("publicKey", 32),
            signature: try hex("signature", 64)
        )
    }
}
