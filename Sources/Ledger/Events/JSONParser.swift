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
    /// The decoded member names of the objects being written canonically, innermost last.
    private var names: [UInt8] = []

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
        return members(value: { $0.value() }).map { .object($0) }
    }

    /// The members of the object whose `{` is at the cursor, each value read by `value`, the
    /// cursor then past its `}`; `nil` when it is malformed, names a member twice (as Swift
    /// strings compare), or has a name `accepts` refuses. The one reading of an object's members
    /// into a list, for the tree and the shallow reader alike.
    private mutating func members<Value>(
        value: (inout JSONParser) -> Value?,
        accepts: (String) -> Bool = { _ in true }
    ) -> [(String, Value)]? {
        index += 1
        var members: [(String, Value)] = []
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            index += 1
            return members
        }
        while true {
            skipWhitespace()
            // Objects are small: a linear scan finds a duplicate name faster than hashing.
            guard current == UInt8(ascii: "\""), let name = string(), accepts(name),
                !members.contains(where: { $0.0 == name })
            else { return nil }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { return nil }
            index += 1
            guard let member = value(&self) else { return nil }
            members.append((name, member))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return members
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
        guard skipNumber() else { return nil }
        return .number(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
    }

    /// Moves past the number at the cursor; `false` when it is not one.
    private mutating func skipNumber() -> Bool {
        if current == UInt8(ascii: "-") { index += 1 }
        guard let first = current, (48...57).contains(first) else { return false }
        index += 1
        if first != 48 { while let c = current, (48...57).contains(c) { index += 1 } }
        if current == UInt8(ascii: ".") {
            index += 1
            guard let c = current, (48...57).contains(c) else { return false }
            while let c = current, (48...57).contains(c) { index += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard let c = current, (48...57).contains(c) else { return false }
            while let c = current, (48...57).contains(c) { index += 1 }
        }
        return true
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

/// A member of an object read by ``JSONParser/parseShallowObject(_:)``: strings as text, nested
/// objects and arrays already in their canonical form (``CanonicalJSON``), so a decoder that
/// needs only an object's top-level fields builds no tree.
enum ShallowJSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    /// A nested object, in canonical form.
    case object(canonical: [UInt8])
    /// A nested array, in canonical form.
    case array(canonical: [UInt8])
}

extension JSONParser {
    /// Parses one JSON text that is an object into its members, each nested value written straight
    /// into its canonical bytes: what ``parse(_:)`` and ``CanonicalJSON/serialize(_:)`` give,
    /// without the tree and its strings (the client event decoder's hot path).
    ///
    /// `nil` when the text is not one JSON object, and also when a member name anywhere is not
    /// ASCII: the tree parser decides those (it refuses two names equal as Swift strings, such as
    /// two spellings of `é`, which a byte comparison would not), so the two readers accept
    /// exactly the same texts. A caller falls back to ``parseReportingOffset(_:)`` on `nil`.
    static func parseShallowObject(_ input: [UInt8]) -> [(String, ShallowJSON)]? {
        input.withUnsafeBytes { raw in
            var parser = JSONParser(raw)
            guard let members = parser.shallowObject() else { return nil }
            parser.skipWhitespace()
            return parser.index == raw.count ? members : nil
        }
    }

    private mutating func shallowObject() -> [(String, ShallowJSON)]? {
        skipWhitespace()
        guard current == UInt8(ascii: "{") else { return nil }
        depth += 1
        defer { depth -= 1 }
        return members(value: { $0.shallowValue() }, accepts: Self.isASCII)
    }

    private mutating func shallowValue() -> ShallowJSON? {
        skipWhitespace()
        guard let c = current else { return nil }
        switch c {
        case UInt8(ascii: "\""): return string().map { .string($0) }
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var out: [UInt8] = []
            out.reserveCapacity(256)
            guard writeCanonical(into: &out) else { return nil }
            return c == UInt8(ascii: "{") ? .object(canonical: out) : .array(canonical: out)
        case UInt8(ascii: "t"): return literal("true", .null).map { _ in .bool(true) }
        case UInt8(ascii: "f"): return literal("false", .null).map { _ in .bool(false) }
        case UInt8(ascii: "n"): return literal("null", .null).map { _ in .null }
        default:
            guard case .number(let text)? = number() else { return nil }
            return .number(text)
        }
    }

    /// Writes the value at the cursor in canonical form, following the grammar of ``value()``
    /// step for step; `false` where that would return `nil`, or at a member name that is not ASCII.
    private mutating func writeCanonical(into out: inout [UInt8]) -> Bool {
        skipWhitespace()
        guard let c = current else { return false }
        switch c {
        case UInt8(ascii: "{"): return writeCanonicalObject(into: &out)
        case UInt8(ascii: "["): return writeCanonicalArray(into: &out)
        case UInt8(ascii: "\""): return writeCanonicalString(into: &out)
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            let start = index
            let word: StaticString = c == UInt8(ascii: "t") ? "true" : c == UInt8(ascii: "f") ? "false" : "null"
            guard literal(word, .null) != nil else { return false }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            // Numbers are kept exactly as written.
            let start = index
            guard skipNumber() else { return false }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
            return true
        default: return false
        }
    }

    private mutating func writeCanonicalArray(into out: inout [UInt8]) -> Bool {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { return false }
        index += 1
        out.append(UInt8(ascii: "["))
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            index += 1
            out.append(UInt8(ascii: "]"))
            return true
        }
        while true {
            guard writeCanonical(into: &out) else { return false }
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                index += 1
                out.append(UInt8(ascii: ","))
            case UInt8(ascii: "]"):
                index += 1
                out.append(UInt8(ascii: "]"))
                return true
            default: return false
            }
        }
    }

    /// Writes each member as it comes, `"name":value`, then puts them in the order of their
    /// names' bytes if they did not come in it (``CanonicalJSON``'s rule).
    private mutating func writeCanonicalObject(into out: inout [UInt8]) -> Bool {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { return false }
        index += 1
        let objectStart = out.count
        out.append(UInt8(ascii: "{"))
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            index += 1
            out.append(UInt8(ascii: "}"))
            return true
        }
        // This object's names follow those of the objects around it; nested ones come and go
        // after them, so each range below stays valid until this object is written.
        let namesStart = names.count
        defer { names.removeSubrange(namesStart...) }
        var members: [CanonicalMember] = []
        members.reserveCapacity(8)
        var sorted = true
        while true {
            skipWhitespace()
            let start = out.count
            guard current == UInt8(ascii: "\""), let name = writeName(into: &out) else { return false }
            for member in members where names[member.name].elementsEqual(names[name]) { return false }
            if let last = members.last, !names[last.name].lexicographicallyPrecedes(names[name]) { sorted = false }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { return false }
            index += 1
            out.append(UInt8(ascii: ":"))
            guard writeCanonical(into: &out) else { return false }
            members.append(CanonicalMember(name: name, written: start..<out.count))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                index += 1
                out.append(UInt8(ascii: ","))
            case UInt8(ascii: "}"):
                index += 1
                if !sorted {
                    let written = Array(out[objectStart...])
                    out.removeSubrange((objectStart + 1)...)
                    let names = self.names
                    members.sort { names[$0.name].lexicographicallyPrecedes(names[$1.name]) }
                    for (position, member) in members.enumerated() {
                        if position > 0 { out.append(UInt8(ascii: ",")) }
                        out.append(
                            contentsOf: written[
                                (member.written.lowerBound - objectStart)..<(member.written.upperBound - objectStart)
                            ]
                        )
                    }
                }
                out.append(UInt8(ascii: "}"))
                return true
            default: return false
            }
        }
    }

    /// Reads the member name at the cursor (its opening quote), writes it canonically and adds
    /// its decoded bytes to ``names``; gives where they lie there. `nil` when it is malformed or
    /// not ASCII (see ``parseShallowObject(_:)``).
    private mutating func writeName(into out: inout [UInt8]) -> Range<Int>? {
        let quote = index
        var end = quote + 1
        while end < bytes.count, bytes[end] >= 0x20, bytes[end] < 0x80, bytes[end] != UInt8(ascii: "\\"),
            bytes[end] != UInt8(ascii: "\"")
        {
            end += 1
        }
        let start = names.count
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            // ASCII without escapes: its own decoded and canonical form.
            let literal = UnsafeRawBufferPointer(rebasing: bytes[quote...end])
            out.append(contentsOf: literal)
            names.append(contentsOf: literal.dropFirst().dropLast())
            index = end + 1
        } else {
            guard let name = string(), Self.isASCII(name) else { return nil }
            CanonicalJSON.writeString(name, to: &out)
            names.append(contentsOf: name.utf8)
        }
        return start..<names.count
    }

    /// Writes the string literal at the cursor as ``CanonicalJSON/writeString(_:to:)`` would: a
    /// literal without escapes is its own canonical form (the parser refuses control characters
    /// in it, and it holds no quote or backslash) once its UTF-8 is valid.
    private mutating func writeCanonicalString(into out: inout [UInt8]) -> Bool {
        let quote = index
        index += 1
        var ascii = true
        while let c = current, c != UInt8(ascii: "\""), c != UInt8(ascii: "\\") {
            guard c >= 0x20 else { return false }
            if c >= 0x80 { ascii = false }
            index += 1
        }
        guard let stop = current else { return false }
        if stop == UInt8(ascii: "\"") {
            let content = UnsafeRawBufferPointer(rebasing: bytes[(quote + 1)..<index])
            guard ascii || String(validating: content, as: UTF8.self) != nil else { return false }
            index += 1
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[quote..<index]))
            return true
        }
        // Escapes: decoded by the one string reader, then written canonically.
        index = quote
        guard let text = string() else { return false }
        CanonicalJSON.writeString(text, to: &out)
        return true
    }

    private static func isASCII(_ text: String) -> Bool { text.utf8.allSatisfy { $0 < 0x80 } }
}

/// A member of an object being written canonically: where its decoded name lies in the
/// parser's names, and its `"name":value` bytes in the output.
private struct CanonicalMember {
    let name: Range<Int>
    let written: Range<Int>
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
