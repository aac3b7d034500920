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

    /// The 64-bit big-endian word the 16 hex digits at `start` of `text` (which holds them)
    /// write; `nil` when one is not a hex digit. Every pseudonym read from a stored record goes
    /// through it — twice an event in a rebuild —, so it checks the sixteen digits together
    /// instead of branching on each.
    static func word(_ text: UnsafeRawBufferPointer, from start: Int) -> UInt64? {
        var value: UInt64 = 0
        var valid = true
        for offset in start..<(start + 16) {
            let digit = digitValue(text[offset])
            valid = valid && digit.valid
            value = value << 4 | UInt64(digit.value)
        }
        return valid ? value : nil
    }

    /// A hex digit's value without a branch: `'0'`–`'9'` are 0–9, `'a'`–`'f'` and `'A'`–`'F'`
    /// (bit 6 set, low bits 1–6) 10–15; `valid` is false for any other byte.
    @inline(__always)
    static func digitValue(_ c: UInt8) -> (value: UInt8, valid: Bool) {
        let letter = c >> 6 & 1
        let lower = c | 0x20
        let valid = (c >= 0x30 && c <= 0x39) || (lower >= 0x61 && lower <= 0x66)
        return ((c & 0x0F) &+ 9 &* letter, valid)
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
        if utf8.count == 36, utf8[8] == 0x2D, utf8[13] == 0x2D, utf8[18] == 0x2D, utf8[23] == 0x2D {
            // The canonical 8-4-4-4-12 form, as every stored event id is: its 32 digits in place.
            var out = [UInt8](repeating: 0, count: 16)
            var valid = true
            var digit = 0
            for offset in 0..<36 where offset != 8 && offset != 13 && offset != 18 && offset != 23 {
                let nibble = Hex.digitValue(utf8[offset])
                valid = valid && nibble.valid
                out[digit >> 1] |= digit & 1 == 0 ? nibble.value << 4 : nibble.value
                digit += 1
            }
            return valid ? out : []
        }
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
