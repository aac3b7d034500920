import Crypto
import Foundation

/// A witness: an Ed25519 cosigner of C2SP tlog-cosignature/v1 (https://c2sp.org/tlog-cosignature),
/// named in the catalogue by its verifier key, `<name>+<key ID, 8 hex>+<base64(0x04 ‖ public key)>`.
///
/// A witness that cosigns a checkpoint states that, as of the cosignature's time, the largest tree
/// of this log it has seen is that one and consistent with every earlier one it saw: a log that
/// showed another history to someone else would need every witness to sign both.
public struct WitnessKey: Sendable, Equatable {
    /// The cosigner's name, as its signature lines carry it.
    public let name: String
    /// The Ed25519 public key (32 bytes).
    public let publicKey: [UInt8]

    /// The algorithm byte of an Ed25519 cosigner (tlog-cosignature/v1).
    static let algorithm: UInt8 = 0x04
    /// The longest witness name (its bytes are part of a storage key).
    public static let longestName = 255

    /// The key ID its signature lines start with: `SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key)[:4]`.
    public var keyID: [UInt8] {
        Array(SHA256.hash(data: Array(name.utf8) + [0x0A, Self.algorithm] + publicKey).prefix(4))
    }

    /// The verifier key, as the catalogue and `tlog-witness` configurations write it.
    public var verifierKey: String {
        name + "+" + Hex.encode(keyID) + "+" + Data([Self.algorithm] + publicKey).base64EncodedString()
    }

    /// A witness of `name` with the Ed25519 `publicKey`.
    /// - Throws: ``LedgerError`` `invalid_field` when the name is not a key name or the key not 32 bytes.
    public init(name: String, publicKey: [UInt8]) throws {
        try SignedNote.checkName(name)
        guard name.utf8.count <= Self.longestName else {
            throw LedgerError(.invalidField, "a witness's name is at most \(Self.longestName) bytes")
        }
        guard publicKey.count == 32 else {
            throw LedgerError(.invalidField, "a witness's Ed25519 public key is 32 bytes")
        }
        self.name = name
        self.publicKey = publicKey
    }

    /// Reads a verifier key.
    /// - Throws: ``LedgerError`` `invalid_field` naming what is malformed: not three `+`-separated
    ///   parts, a key ID that is not the key's, an algorithm other than 0x04 (cosignature/v1).
    public init(verifierKey text: String) throws {
        let parts = text.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let id = Hex.decode(String(parts[1])), id.count == 4,
            let raw = Data(base64Encoded: String(parts[2]))
        else {
            throw LedgerError(.invalidField, "a witness key is <name>+<8 hex>+<base64 of 0x04 and the public key>")
        }
        guard raw.first == Self.algorithm else {
            throw LedgerError(
                .invalidField,
                "a witness key must be an Ed25519 cosignature/v1 key (algorithm 0x04)"
            )
        }
        try self.init(name: String(parts[0]), publicKey: Array(raw.dropFirst()))
        guard keyID == id else {
            throw LedgerError(.invalidField, "the witness key's ID does not match its name and public key")
        }
    }
}

/// One witness's cosignature on a checkpoint: the time it signed and its Ed25519 signature over
/// `"cosignature/v1\ntime <time>\n" ‖ the checkpoint's note text`. On a signature line it is
/// `— <name> base64(key ID ‖ u64 time, big-endian ‖ signature)`.
public struct Cosignature: Sendable, Equatable {
    /// The witness that signed.
    public let witness: WitnessKey
    /// When it signed, in seconds since the epoch.
    public let time: UInt64
    /// The Ed25519 signature (64 bytes).
    public let signature: [UInt8]

    /// The bytes a witness signs for the checkpoint `noteText` at `time`.
    public static func signedMessage(noteText: String, time: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(time)\n".utf8) + Array(noteText.utf8)
    }

    /// The cosignature a signature line of `witness` carries, if the line is that witness's.
    /// - Returns: `nil` when the line names another key (other name or key ID): such lines are
    ///   ignored, as tlog-cosignature says.
    /// - Throws: ``LedgerError`` `invalid_field` when the line is the witness's but malformed.
    public init?(line: SignedNote.Signature, of witness: WitnessKey) throws {
        guard line.name == witness.name, line.keyHash == witness.keyID else { return nil }
        guard line.bytes.count == 8 + 64 else {
            throw LedgerError(
                .invalidField,
                "a cosignature/v1 signature is a 64-bit time and 64 bytes (witness \(witness.name))"
            )
        }
        let time = line.bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard time <= UInt64(Int64.max) else {
            throw LedgerError(.invalidField, "a cosignature's time is at most 2^63-1 (witness \(witness.name))")
        }
        self.init(witness: witness, time: time, signature: Array(line.bytes.suffix(64)))
    }

    /// A cosignature from its parts.
    public init(witness: WitnessKey, time: UInt64, signature: [UInt8]) {
        self.witness = witness
        self.time = time
        self.signature = signature
    }

    /// `noteText` cosigned by `key` at `time` — what a witness does; the ledger itself never
    /// cosigns, the tests and tools that act as witnesses do.
    public static func sign(
        noteText: String,
        time: UInt64,
        witness: WitnessKey,
        with key: Curve25519.Signing.PrivateKey
    ) throws -> Cosignature {
        guard Array(key.publicKey.rawRepresentation) == witness.publicKey else {
            throw LedgerError(.invalidField, "the private key is not the witness's")
        }
        let signature = try key.signature(for: signedMessage(noteText: noteText, time: time))
        return Cosignature(witness: witness, time: time, signature: Array(signature))
    }

    /// Whether the signature is the witness's over `noteText` at ``time``.
    public func isValid(for noteText: String) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: witness.publicKey) else { return false }
        return key.isValidSignature(signature, for: Self.signedMessage(noteText: noteText, time: time))
    }

    /// The signature line that carries it.
    public var line: SignedNote.Signature {
        var time = time.bigEndian
        let timeBytes = withUnsafeBytes(of: &time) { Array($0) }
        return SignedNote.Signature(name: witness.name, keyHash: witness.keyID, bytes: timeBytes + signature)
    }
}

/// The body of a C2SP tlog-checkpoint note: origin, tree size, base64 root hash, and any
/// extension lines after them.
public struct CheckpointNoteBody: Sendable, Equatable {
    /// The log's origin line.
    public let origin: String
    /// The tree size.
    public let treeSize: UInt64
    /// The RFC 9162 root hash of the first `treeSize` leaves.
    public let rootHash: [UInt8]
    /// Lines after the root hash (this ledger writes none).
    public let extensionLines: [String]

    /// Reads a note's text.
    /// - Throws: ``LedgerError`` `invalid_field` naming the line that is malformed.
    public init(parsing text: String) throws {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        guard lines.count >= 3 else {
            throw LedgerError(.invalidField, "a checkpoint note has an origin, a tree size and a root hash line")
        }
        let all = Array(lines)
        guard let size = UInt64(all[1]), String(size) == all[1], size <= UInt64(Int64.max) else {
            throw LedgerError(.invalidField, "a checkpoint note's second line is its tree size, a decimal number")
        }
        guard let root = Data(base64Encoded: String(all[2])), root.count == 32 else {
            throw LedgerError(.invalidField, "a checkpoint note's third line is its root hash, 32 bytes in base64")
        }
        origin = String(all[0])
        treeSize = size
        rootHash = Array(root)
        extensionLines = all.dropFirst(3).map(String.init)
    }
}
