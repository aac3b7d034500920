/// A subject's pseudonym (SPEC §2): 16 random bytes, held as two big-endian words so hashing,
/// comparing and sorting are cheap. Orders like its hex form.
public struct Pseudonym: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The first eight bytes, big-endian.
    public let high: UInt64
    /// The last eight bytes, big-endian.
    public let low: UInt64

    /// Creates a pseudonym from its two words.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Creates a pseudonym from its 16 bytes; `nil` for any other length.
    public init?(_ bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for i in 0..<8 {
            high = high << 8 | UInt64(bytes[i])
            low = low << 8 | UInt64(bytes[i + 8])
        }
        self.init(high: high, low: low)
    }

    /// Creates a pseudonym from its 16 bytes as stored (a key lent by a cursor), without copying
    /// them; `nil` for any other length.
    init?(stored bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 16 else { return nil }
        self.init(
            high: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
            low: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        )
    }

    /// Parses 32 hex characters; `nil` for anything else.
    public init?(hex: String) {
        var copy = hex
        guard let parsed = copy.withUTF8({ Pseudonym(hexBytes: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = parsed
    }

    /// Parses 32 hex characters given as bytes; `nil` for anything else.
    init?(hexBytes: UnsafeRawBufferPointer) {
        guard hexBytes.count == 32, let high = Hex.word(hexBytes, from: 0), let low = Hex.word(hexBytes, from: 16)
        else { return nil }
        self.init(high: high, low: low)
    }

    /// The 16 bytes.
    public var bytes: [UInt8] {
        withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { Array($0) }
    }

    /// The 32 lower-case hex characters, as events and exports carry it.
    public var hex: String { Hex.encode(bytes) }

    /// The 32 hex characters.
    public var description: String { hex }

    /// Byte order.
    public static func < (lhs: Pseudonym, rhs: Pseudonym) -> Bool { (lhs.high, lhs.low) < (rhs.high, rhs.low) }
}
