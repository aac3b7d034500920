import Crypto
import Foundation

/// A C2SP signed note (https://c2sp.org/signed-note) with Ed25519 signatures: a text of lines
/// ending in a newline, a blank line, then one signature line per signer,
/// `— <key name> <base64(key hash ‖ signature)>`. The signature is Ed25519 over the text, final
/// newline included; the key hash is the first four bytes of
/// `SHA-256(key name ‖ "\n" ‖ 0x01 ‖ public key)`.
///
/// Hand-written because no Swift package implements signed notes; the format is a few lines, and
/// the tests check every note this type makes with Go's `golang.org/x/mod/sumdb/note`
/// (`ExternalVerifierTests`).
public struct SignedNote: Sendable, Equatable {
    /// One signature line.
    public struct Signature: Sendable, Equatable {
        /// The signer's key name.
        public var name: String
        /// The signer's key hash (four bytes).
        public var keyHash: [UInt8]
        /// The signature bytes (64 for Ed25519).
        public var bytes: [UInt8]
    }

    /// The signed text: non-empty lines, each ending in a newline.
    public var text: String
    /// The signature lines, in order.
    public var signatures: [Signature]

    /// The largest note read, and the most signature lines (as Go's `sumdb/note`).
    static let largestNote = 1 << 16
    static let mostSignatures = 100

    /// The algorithm byte of an Ed25519 signer in C2SP signed notes.
    static let ed25519Algorithm: UInt8 = 0x01

    /// The note as it is published: the text, a blank line, the signature lines.
    public var serialized: String {
        text + "\n"
            + signatures.map { "\u{2014} \($0.name) \(Data($0.keyHash + $0.bytes).base64EncodedString())\n" }.joined()
    }

    /// The key hash of an Ed25519 key named `name`.
    public static func keyHash(name: String, publicKey: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: Array(name.utf8) + [0x0A, ed25519Algorithm] + publicKey).prefix(4))
    }

    /// The verifier key of an Ed25519 key named `name`, as Go's `note.NewVerifier` and C2SP
    /// witnesses take it: `<name>+<key hash, 8 hex>+<base64(0x01 ‖ public key)>`.
    public static func verifierKey(name: String, publicKey: [UInt8]) -> String {
        name + "+" + Hex.encode(keyHash(name: name, publicKey: publicKey)) + "+"
            + Data([ed25519Algorithm] + publicKey).base64EncodedString()
    }

    /// `text` signed by `key` under `name`.
    /// - Throws: ``LedgerError`` `invalid_field` when `text` is not a note's text or `name` not a
    ///   key name.
    public static func sign(
        _ text: String,
        name: String,
        with key: Curve25519.Signing.PrivateKey
    ) throws -> SignedNote {
        try checkText(text)
        try checkName(name)
        let signature = try key.signature(for: Array(text.utf8))
        return SignedNote(
            text: text,
            signatures: [
                Signature(
                    name: name,
                    keyHash: keyHash(name: name, publicKey: Array(key.publicKey.rawRepresentation)),
                    bytes: Array(signature)
                )
            ]
        )
    }

    /// Whether a signature by the Ed25519 key `publicKey` named `name` is on the note and valid.
    public func isSigned(by name: String, publicKey: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        let hash = Self.keyHash(name: name, publicKey: publicKey)
        return signatures.contains { signature in
            signature.name == name && signature.keyHash == hash
                && key.isValidSignature(signature.bytes, for: Array(text.utf8))
        }
    }

    /// Reads a published note.
    /// - Throws: ``LedgerError`` `invalid_field` naming what is malformed.
    public init(parsing note: String) throws {
        guard note.utf8.count <= Self.largestNote else {
            throw LedgerError(.payloadTooLarge, "a signed note is at most \(Self.largestNote) bytes")
        }
        guard let split = note.range(of: "\n\n") else {
            throw LedgerError(.invalidField, "a signed note has a blank line between its text and its signatures")
        }
        let text = String(note[..<split.lowerBound]) + "\n"
        try Self.checkText(text)
        let lines = note[split.upperBound...].split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.last == "", lines.count >= 2 else {
            throw LedgerError(.invalidField, "a signed note ends with signature lines, each ending in a newline")
        }
        guard lines.count - 1 <= Self.mostSignatures else {
            throw LedgerError(.invalidField, "a signed note has at most \(Self.mostSignatures) signatures")
        }
        var signatures: [Signature] = []
        for line in lines.dropLast() {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "\u{2014}", let raw = Data(base64Encoded: String(parts[2])),
                raw.count > 4
            else { throw LedgerError(.invalidField, "a signature line is `— <name> <base64>`") }
            try Self.checkName(String(parts[1]))
            signatures.append(
                Signature(name: String(parts[1]), keyHash: Array(raw.prefix(4)), bytes: Array(raw.dropFirst(4)))
            )
        }
        self.init(text: text, signatures: signatures)
    }

    init(text: String, signatures: [Signature]) {
        self.text = text
        self.signatures = signatures
    }

    private static func checkText(_ text: String) throws {
        guard text.hasSuffix("\n"), !text.contains("\n\n"), !text.hasPrefix("\n"),
            text.unicodeScalars.allSatisfy({ $0 == "\n" || $0.properties.generalCategory != .control })
        else {
            throw LedgerError(
                .invalidField,
                "a signed note's text is non-empty lines of printable characters, each ending in a newline"
            )
        }
    }

    static func checkName(_ name: String) throws {
        guard !name.isEmpty, !name.contains("+"),
            name.unicodeScalars.allSatisfy({ !$0.properties.isWhitespace && $0.properties.generalCategory != .control })
        else { throw LedgerError(.invalidField, "a key name is non-empty, with no space or +") }
    }
}

extension Checkpoint {
    /// The checkpoint's origin line (C2SP tlog-checkpoint), and the name of the ledger's note key:
    /// `consentledger/<ledgerId>`.
    public var origin: String { Self.origin(ledgerId: ledgerId) }

    /// The origin of the checkpoints of ledger `ledgerId`.
    public static func origin(ledgerId: String) -> String { "consentledger/" + ledgerId }

    /// The C2SP tlog-checkpoint text: origin, tree size, base64 root hash.
    public var noteText: String { Self.noteText(origin: origin, treeSize: treeSize, rootHash: rootHash) }

    /// The C2SP tlog-checkpoint text of the tree of `treeSize` leaves with `rootHash`.
    public static func noteText(origin: String, treeSize: UInt64, rootHash: [UInt8]) -> String {
        origin + "\n" + String(treeSize) + "\n" + Data(rootHash).base64EncodedString() + "\n"
    }

    /// The verifier key of the ledger's checkpoint notes (``SignedNote/verifierKey(name:publicKey:)``).
    public var noteVerifierKey: String { SignedNote.verifierKey(name: origin, publicKey: publicKey) }
}
