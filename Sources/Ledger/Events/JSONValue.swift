/// The product's one JSON value: what the ledger's strict parser reads (``parse(_:)``) and what its
/// writer writes, with a fixed key order, so machine output (exports, answers, golden files) is
/// byte-for-byte reproducible. Numbers read are kept as their exact decimal text, never rounded
/// through a `Double`.
public indirect enum JSONValue: Sendable, Equatable {
    /// A string.
    case string(String)
    /// An integer the ledger writes.
    case int(Int64)
    /// `true` or `false`.
    case bool(Bool)
    /// `null`.
    case null
    /// Keys in the order given; never re-sorted.
    case object([(String, JSONValue)])
    /// An array.
    case array([JSONValue])
    /// Already-serialised JSON text (for example a subject's decrypted `data` object), written as is.
    case raw(String)
    /// A number as its exact JSON text (`-12`, `0.1`, `1e400`), as the parser read it; written as is.
    case number(String)

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
        case .raw(let text), .number(let text): out += text.utf8
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

extension JSONValue {
    /// Parses one JSON text (RFC 8259, strictly: see ``JSONSyntaxError``); `nil` when the bytes are
    /// not exactly one JSON value. Numbers keep their exact text.
    public static func parse(_ bytes: [UInt8]) -> JSONValue? {
        try? parseReportingOffset(bytes)
    }

    /// Parses one JSON text, or throws where it stops being JSON.
    /// - Throws: ``JSONSyntaxError`` with the byte offset of the fault.
    public static func parseReportingOffset(_ bytes: [UInt8]) throws -> JSONValue {
        switch JSONParser.parseReportingOffset(bytes) {
        case .success(let parsed): return JSONValue(parsed)
        case .failure(let error): throw error
        }
    }

    init(_ parsed: ParsedJSON) {
        switch parsed {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .number(let text): self = .number(text)
        case .string(let text): self = .string(text)
        case .array(let items): self = .array(items.map(JSONValue.init))
        case .object(let members): self = .object(members.map { ($0.0, JSONValue($0.1)) })
        }
    }

    /// The text of a string value.
    public var stringValue: String? {
        guard case .string(let text) = self else { return nil }
        return text
    }

    /// The members of an object value, in the order read.
    public var objectMembers: [(String, JSONValue)]? {
        guard case .object(let members) = self else { return nil }
        return members
    }

    /// The items of an array value.
    public var arrayItems: [JSONValue]? {
        guard case .array(let items) = self else { return nil }
        return items
    }

    /// Whether this is `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// A number written as a whole number without sign, fraction or exponent that fits `UInt64`
    /// (`7`, not `7.0`, `+7` or `7e0`); `nil` otherwise.
    public var uint64Value: UInt64? {
        switch self {
        case .int(let value): return value >= 0 ? UInt64(value) : nil
        case .number(let text):
            guard text.utf8.allSatisfy({ (48...57).contains($0) }), text == "0" || !text.hasPrefix("0") else {
                return nil
            }
            return UInt64(text)
        default: return nil
        }
    }

    /// The canonical text: compact, object keys sorted by their UTF-8 bytes at every level, numbers
    /// as written. Two values with the same content in any key order give the same bytes.
    public var canonicalUTF8: [UInt8] {
        switch self {
        case .raw(let text):
            return JSONParser.parse(Array(text.utf8)).flatMap(CanonicalJSON.serialize) ?? Array(text.utf8)
        case .object(let members):
            var out: [UInt8] = [UInt8(ascii: "{")]
            let sorted = members.map { ($0.0, Array($0.0.utf8), $0.1) }.sorted { $0.1.lexicographicallyPrecedes($1.1) }
            for (position, member) in sorted.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(member.0, to: &out)
                out.append(UInt8(ascii: ":"))
                out += member.2.canonicalUTF8
            }
            out.append(UInt8(ascii: "}"))
            return out
        case .array(let items):
            var out: [UInt8] = [UInt8(ascii: "[")]
            for (position, item) in items.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                out += item.canonicalUTF8
            }
            out.append(UInt8(ascii: "]"))
            return out
        default:
            return utf8
        }
    }
}

/// Where a text stops being JSON: the byte offset (from 0) at which the strict parser gave up.
public struct JSONSyntaxError: Error, Sendable, Equatable {
    /// The offset of the first byte that cannot continue a JSON text (the length for a text cut short).
    public var offset: Int
}
