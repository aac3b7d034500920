/// A JSON value written with a fixed key order, so machine output (exports, answers, golden files)
/// is byte-for-byte reproducible.
public indirect enum JSONValue: Sendable, Equatable {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case null
    /// Keys in the order given; never re-sorted.
    case object([(String, JSONValue)])
    case array([JSONValue])
    /// Already-serialised JSON text (for example a subject's decrypted `data` object), written as is.
    case raw(String)

    /// Equal when the serialised texts are equal.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool { lhs.serialized == rhs.serialized }

    /// Compact JSON text.
    public var serialized: String { String(decoding: utf8, as: UTF8.self) }

    /// Compact JSON text as UTF-8 bytes, without the detour through a `String`.
    public var utf8: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        write(to: &out)
        return out
    }

    /// The value of `key` when this is an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.first { $0.0 == key }?.1
    }

    /// Appends the compact JSON text to `out`.
    func write(to out: inout [UInt8]) {
        switch self {
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .int(let i): out += String(i).utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .null: out += "null".utf8
        case .raw(let text): out += text.utf8
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let pairs):
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in pairs.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Writes a string literal, escaping control characters (C0, DEL, C1) and U+2028/U+2029 too,
    /// so output is safe to embed anywhere; strings that need no escape are copied whole.
    static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var copy = s
        let plain = copy.withUTF8 { utf8 in
            utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        }
        if plain {
            out += s.utf8
        } else {
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += #"\""#.utf8
                case "\\": out += #"\\"#.utf8
                case "\n": out += #"\n"#.utf8
                case "\r": out += #"\r"#.utf8
                case "\t": out += #"\t"#.utf8
                case _
                where scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
                    || scalar.value == 0x2028 || scalar.value == 0x2029:
                    let hex = String(scalar.value, radix: 16)
                    out += ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8
                default: out += String(scalar).utf8
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
