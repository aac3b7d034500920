import Foundation

/// Lower-case hexadecimal encoding and strict decoding.
package enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    package static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex of either case; `nil` for odd length or a non-hex character.
    package static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let high = nibble(utf8[i]), let low = nibble(utf8[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 97...102: return c - 87
        case 65...70: return c - 55
        default: return nil
        }
    }
}

/// Helpers for the ledger's UUID strings (`eventId`, `requestId`).
enum UUIDText {
    /// Returns the canonical lower-case form of an 8-4-4-4-12 hexadecimal UUID, or `nil`.
    static func canonical(_ text: String) -> String? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 36 else { return nil }
        for (i, c) in utf8.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard c == UInt8(ascii: "-") else { return nil }
            } else {
                guard (48...57).contains(c) || (97...102).contains(c) || (65...70).contains(c) else { return nil }
            }
        }
        return text.lowercased()
    }

    /// The 16 bytes of a canonical UUID string.
    static func bytes(_ canonical: String) -> [UInt8] {
        var copy = canonical
        return copy.withUTF8 { bytes(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// The 16 bytes of a canonical UUID given as its UTF-8 bytes (a stored record's, in place);
    /// empty when they are not one.
    static func bytes(utf8: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(16)
        var high: UInt8?
        for c in utf8 where c != UInt8(ascii: "-") {
            guard let nibble = Hex.nibble(c) else { return [] }
            if let h = high {
                out.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return out.count == 16 && high == nil ? out : []
    }

    /// A random (version 4) UUID from 16 random bytes.
    static func random(from raw: [UInt8]) -> String {
        var b = raw
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        return format(b)
    }

    /// A time-ordered (version 7, RFC 9562) UUID: 48 bits of milliseconds, then random bits. The
    /// ledger generates these, so its event-id index grows at its end instead of at random places.
    static func timeOrdered(at time: Timestamp, random raw: [UInt8]) -> String {
        var b = raw
        let ms = UInt64(bitPattern: time.milliseconds)
        for i in 0..<6 { b[i] = UInt8(truncatingIfNeeded: ms >> UInt64(40 - 8 * i)) }
        b[6] = (b[6] & 0x0F) | 0x70
        b[8] = (b[8] & 0x3F) | 0x80
        return format(b)
    }

    static func format(_ b: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (index, byte) in b.prefix(16).enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { out.append(UInt8(ascii: "-")) }
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
