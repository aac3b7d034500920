import Crypto

/// A 32-byte hash held inline, as four words: the form in which ``ChainVerifier`` and
/// ``MerkleAccumulator`` keep and compare hashes, so that checking an event allocates nothing
/// (an `[UInt8]` is a heap object; copying and comparing one per event was a fifth of `verify`).
///
/// The bytes are kept in their stored order: ``bytes`` gives back exactly the 32 bytes it was
/// made from.
struct InlineHash: Sendable, Equatable {
    /// The 32 bytes, in order, as four native-order words.
    private var words: (UInt64, UInt64, UInt64, UInt64)

    /// The 32 bytes at the start of `bytes`, which must hold at least 32.
    /// - Warning: Traps when `bytes` holds fewer than 32 bytes; callers check the length first.
    init(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= 32, "an inline hash needs 32 bytes")
        words = (
            bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
            bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
            bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
        )
    }

    /// The hash `bytes` holds; `nil` unless it is exactly 32 bytes.
    init?(_ bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self = bytes.withUnsafeBytes { InlineHash($0) }
    }

    /// The bytes of a SHA-256 digest.
    init(_ digest: SHA256Digest) {
        self = digest.withUnsafeBytes { InlineHash($0) }
    }

    /// The 32 bytes, in order.
    var bytes: [UInt8] {
        Swift.withUnsafeBytes(of: words) { Array($0) }
    }

    /// Whether the first 32 bytes of `stored` are this hash; `false` when it holds fewer.
    func isStored(at stored: UnsafeRawBufferPointer) -> Bool {
        stored.count >= 32 && self == InlineHash(stored)
    }

    /// Lends the 32 bytes, in order, for hashing or copying.
    /// - Warning: The buffer is valid only inside `body`.
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: words, body)
    }

    static func == (lhs: InlineHash, rhs: InlineHash) -> Bool {
        // Not constant-time, and need not be: every hash compared here is public (stored in the
        // log and printed by `verify`).
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2
            && lhs.words.3 == rhs.words.3
    }
}
