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
/// exhaust the stack. The only JSON reader of the product (``JSONValue/parse(_:)`` wraps it), and
/// independent of Foundation's version.
struct JSONParser {
    static let maxDepth = 64

    private let bytes: UnsafeRawBufferPointer
    private var index = 0
    private var depth = 0

    private init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Parses one JSON text; `nil` when it is not exactly one valid JSON value.
    static func parse(_ input: [UInt8]) -> ParsedJSON? {
        try? parseReportingOffset(input).get()
    }

    /// Parses one JSON text, or gives the offset where it stops being one.
    static func parseReportingOffset(_ input: [UInt8]) -> Result<ParsedJSON, JSONSyntaxError> {
        input.withUnsafeBytes { raw in
            var parser = JSONParser(raw)
            guard let value = parser.value() else {
                return .failure(JSONSyntaxError(offset: min(parser.index, raw.count)))
            }
            parser.skipWhitespace()
            return parser.index == raw.count ? .success(value) : .failure(JSONSyntaxError(offset: parser.index))
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
    /// The canonical bytes of a parsed value (see ``CanonicalJSON``): numbers exactly as written.
    static func serialize(_ value: ParsedJSON) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, to: &out)
        return out
    }

    private static func write(_ value: ParsedJSON, to out: inout [UInt8]) {
        switch value {
        case .null: out += "null".utf8
        case .bool(let flag): out += (flag ? "true" : "false").utf8
        case .string(let text): writeString(text, to: &out)
        case .number(let text): out += text.utf8
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (position, item) in items.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                write(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            let sorted = members.map { ($0.0, Array($0.0.utf8), $0.1) }.sorted { $0.1.lexicographicallyPrecedes($1.1) }
            for (position, member) in sorted.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                writeString(member.0, to: &out)
                out.append(UInt8(ascii: ":"))
                write(member.2, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Whether two canonical texts hold the same content: equal bytes, or the same values where
    /// numbers compare by their exact decimal value (`1.0`, `1` and `10e-1` are one number). An
    /// event stored before numbers were kept as written (its `1.0` stored as `1`) still replays.
    static func sameContent(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        if a == b { return true }
        guard let left = JSONParser.parse(a), let right = JSONParser.parse(b) else { return false }
        return sameValue(left, right)
    }

    private static func sameValue(_ a: ParsedJSON, _ b: ParsedJSON) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)): return x == y || DecimalText(x).map { $0 == DecimalText(y) } ?? false
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { sameValue($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count
                && x.allSatisfy { member in y.first { $0.0 == member.0 }.map { sameValue(member.1, $0.1) } ?? false }
        default: return a == b
        }
    }
}

/// A JSON number's exact decimal value, normalised: sign, significant digits without leading or
/// trailing zeros, and a power of ten. No rounding ever happens; an exponent too large to count
/// keeps the number's text instead (such numbers then equal only themselves).
struct DecimalText: Equatable {
    private var negative = false
    private var digits: [UInt8] = []
    private var exponent = 0
    private var verbatim: String?

    /// `nil` when `text` is not a JSON number.
    init?(_ text: String) {
        var bytes = Array(text.utf8)[...]
        if bytes.first == UInt8(ascii: "-") {
            negative = true
            bytes = bytes.dropFirst()
        }
        var fraction = 0
        var seenPoint = false
        while let c = bytes.first, c != UInt8(ascii: "e"), c != UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if c == UInt8(ascii: ".") {
                guard !seenPoint else { return nil }
                seenPoint = true
            } else {
                guard (48...57).contains(c) else { return nil }
                if !(digits.isEmpty && c == 48) { digits.append(c) }
                if seenPoint { fraction += 1 }
            }
        }
        var written = 0
        if !bytes.isEmpty {
            let exponentText = String(decoding: bytes.dropFirst(), as: UTF8.self)
            guard let value = Int(exponentText.hasPrefix("+") ? String(exponentText.dropFirst()) : exponentText),
                abs(value) < Int.max / 4
            else {
                guard exponentText.utf8.allSatisfy({ (48...57).contains($0) || $0 == 43 || $0 == 45 }) else {
                    return nil
                }
                verbatim = text
                return
            }
            written = value
        }
        while digits.last == 48 {
            digits.removeLast()
            fraction -= 1
        }
        if digits.isEmpty {
            negative = false
            exponent = 0
        } else {
            exponent = written - fraction
        }
    }
}
