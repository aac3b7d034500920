/// A parsed JSON value (RFC 8259), as the ledger's strict parser returns it: numbers keep their
/// text, objects keep their members in order (duplicate names are refused by the parser).
enum ParsedJSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([ParsedJSON])
    case object([(String, ParsedJSON)])

    static func == (lhs: ParsedJSON, rhs: ParsedJSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)), (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)): return a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1)
        default: return false
        }
    }

    /// The value of `key` when this is an object.
    subscript(key: String) -> ParsedJSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }
}

/// A strict RFC 8259 parser over bytes: no trailing commas, comments, single quotes, NaN or
/// control characters in strings; UTF-8 validated; nesting limited so hostile input cannot
/// exhaust the stack. Several times faster than `JSONSerialization` for client events, and
/// independent of Foundation's version.
struct JSONParser {
    static let maxDepth = 64

    private let bytes: UnsafeRawBufferPointer
    private var index = 0
    private var depth = 0

    private init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Parses one JSON text; `nil` when it is not exactly one valid JSON value.
    static func parse(_ input: [UInt8]) -> ParsedJSON? {
        input.withUnsafeBytes { raw in
            var parser = JSONParser(raw)
            guard let value = parser.value() else { return nil }
            parser.skipWhitespace()
            return parser.index == raw.count ? value : nil
        }
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let c = current, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { index += 1 }
    }

    private mutating func value() -> ParsedJSON? {
        skipWhitespace()
        guard let c = current else { return nil }
        switch c {
        case UInt8(ascii: "{"): return object()
        case UInt8(ascii: "["): return array()
        case UInt8(ascii: "\""): return string().map { .string($0) }
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number()
        default: return nil
        }
    }

    private mutating func literal(_ word: StaticString, _ value: ParsedJSON) -> ParsedJSON? {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { return nil }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return nil }
        index += count
        return value
    }

    private mutating func object() -> ParsedJSON? {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { return nil }
        index += 1
        var members: [(String, ParsedJSON)] = []
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            // Objects are small: a linear scan finds a duplicate name faster than hashing.
            guard current == UInt8(ascii: "\""), let name = string(), !members.contains(where: { $0.0 == name }) else {
                return nil
            }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { return nil }
            index += 1
            guard let member = value() else { return nil }
            members.append((name, member))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return .object(members)
            default: return nil
            }
        }
    }

    private mutating func array() -> ParsedJSON? {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { return nil }
        index += 1
        var items: [ParsedJSON] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            guard let item = value() else { return nil }
            items.append(item)
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return .array(items)
            default: return nil
            }
        }
    }

    private mutating func number() -> ParsedJSON? {
        let start = index
        if current == UInt8(ascii: "-") { index += 1 }
        guard let first = current, (48...57).contains(first) else { return nil }
        index += 1
        if first != 48 { while let c = current, (48...57).contains(c) { index += 1 } }
        if current == UInt8(ascii: ".") {
            index += 1
            guard let c = current, (48...57).contains(c) else { return nil }
            while let c = current, (48...57).contains(c) { index += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard let c = current, (48...57).contains(c) else { return nil }
            while let c = current, (48...57).contains(c) { index += 1 }
        }
        return .number(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
    }

    /// A string literal starting at the opening quote; `nil` when malformed.
    private mutating func string() -> String? {
        index += 1
        let start = index
        // Fast path: no escapes.
        var ascii = true
        while let c = current, c != UInt8(ascii: "\""), c != UInt8(ascii: "\\") {
            guard c >= 0x20 else { return nil }
            if c >= 0x80 { ascii = false }
            index += 1
        }
        guard let stop = current else { return nil }
        if stop == UInt8(ascii: "\""), ascii {
            // ASCII is valid UTF-8: decoding cannot repair anything, and skips a copy and a check.
            defer { index += 1 }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        }
        var utf8 = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        if stop == UInt8(ascii: "\"") {
            index += 1
            return String(validating: utf8, as: UTF8.self)
        }
        while let c = current {
            switch c {
            case UInt8(ascii: "\""):
                index += 1
                return String(validating: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                guard let escaped = current else { return nil }
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escaped)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard current == UInt8(ascii: "\\"), index + 1 < bytes.count,
                            bytes[index + 1] == UInt8(ascii: "u")
                        else { return nil }
                        index += 2
                        guard let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        return nil
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { return nil }
                    utf8 += Array(String(Character(unicode)).utf8)
                default: return nil
                }
            default:
                guard c >= 0x20 else { return nil }
                utf8.append(c)
                index += 1
            }
        }
        return nil
    }

    private mutating func hex4() -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let nibble = Hex.nibble(bytes[index]) else { return nil }
            value = value << 4 | UInt32(nibble)
            index += 1
        }
        return value
    }
}

extension CanonicalJSON {
    /// The canonical bytes of a parsed value (see ``CanonicalJSON``); `nil` for a number that
    /// does not fit a double (such as `1e400`).
    static func serialize(_ value: ParsedJSON) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        return write(value, to: &out) ? out : nil
    }

    private static func write(_ value: ParsedJSON, to out: inout [UInt8]) -> Bool {
        switch value {
        case .null: out += "null".utf8
        case .bool(let flag): out += (flag ? "true" : "false").utf8
        case .string(let text): writeString(text, to: &out)
        case .number(let text):
            guard let canonical = canonicalNumber(text) else { return false }
            out += canonical.utf8
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (position, item) in items.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                guard write(item, to: &out) else { return false }
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            let sorted = members.map { ($0.0, Array($0.0.utf8), $0.1) }.sorted { $0.1.lexicographicallyPrecedes($1.1) }
            for (position, member) in sorted.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                writeString(member.0, to: &out)
                out.append(UInt8(ascii: ":"))
                guard write(member.2, to: &out) else { return false }
            }
            out.append(UInt8(ascii: "}"))
        }
        return true
    }

    /// Integers as integers; other numbers in Swift's shortest round-trip form, integral ones
    /// below 10^15 written as integers — the same form ``serialize(_:)-(Any)`` gives.
    static func canonicalNumber(_ text: String) -> String? {
        let integral = !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })
        if integral {
            if let value = Int64(text) { return String(value) }
            if let value = UInt64(text) { return String(value) }
        }
        guard let double = Double(text), double.isFinite else { return nil }
        if double == double.rounded(), abs(double) < 1e15 { return String(Int64(double)) }
        return "\(double)"
    }
}
