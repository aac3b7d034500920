import TestSupport
import Testing

@testable import Ledger

/// The client event decoder reads an event with ``JSONParser/parseShallowObject(_:)``, which
/// writes nested values straight into canonical bytes, and falls back to the tree parser when it
/// gives `nil`. These tests hold the two readers to one language and one canonical form: on
/// chosen texts, on tens of thousands of generated ones, and on those texts with bytes broken.
struct ShallowJSONTests {
    @Test(arguments: [
        #"{}"#, #" { } "#, #"{"a":1}"#, #"{"b":1,"a":[true,false,null],"c":{"z":"y","x":-0.5}}"#,
        #"{"n":[0,-0,1.0,2.50,1e2,1E-2,1e400,-1234567890123456789]}"#,
        #"{"s":"tab\tnew\nline \u0001 quote\" slash\/ \u00e9\ud83d\ude00","d":{"k\"ey":"v","k":"\\"}}"#,
        #"{"d":{"b":{"d":1,"c":[{"z":1,"y":2},[]],"a":{}},"a":"blåbær ø 😀"}}"#,
        #"{"d":{"\u0041":1,"A":2}}"#, #"{"d":{"a":1,"a":2}}"#, #"{"a":1,"a":2}"#, #"{"d":{"é":1}}"#,
        #"{"é":1}"#, "{\"d\":{\"\u{e9}\":1,\"e\u{301}\":2}}", #"[1]"#, #""x""#, #"{"a":1,}"#, #"{"a":[1,]}"#,
        #"{"a":01}"#, #"{"a":"\x"}"#, #"{"a":"\ud800"}"#, #"{"a":{"b":1} "#, #"{"a":1} x"#, #"{"a" 1}"#,
        #"{"a":tru}"#, #"{"d":{"b":1,"a":2,}}"#, #"{"d":{"a":"x","b":nul}}"#, "",
        "{\"a\":" + String(repeating: "[", count: 63) + String(repeating: "]", count: 63) + "}",
        "{\"a\":" + String(repeating: "[", count: 64) + String(repeating: "]", count: 64) + "}",
        "{\"a\":" + String(repeating: "{\"b\":", count: 63) + "1" + String(repeating: "}", count: 63) + "}",
        "{\"a\":" + String(repeating: "{\"b\":", count: 64) + "1" + String(repeating: "}", count: 64) + "}",
    ])
    func agreesWithTheTreeOnChosenTexts(text: String) {
        Self.expectAgreement(Array(text.utf8))
    }

    @Test func theCanonicalFormOfNestedValuesIsTheTreesByteForByte() throws {
        let text = #"{ "d" : { "z" : [ 1 , { "y" : "\u00e9" , "x" : null } ] , "a" : "\"q\"" } }"#
        let members = try #require(JSONParser.parseShallowObject(Array(text.utf8)))
        let canonical = #"{"a":"\"q\"","z":[1,{"x":null,"y":"é"}]}"#
        #expect(members.count == 1)
        #expect(members.first?.1 == .object(canonical: Array(canonical.utf8)))
    }

    @Test func namesAreSortedByTheirDecodedBytesAndWrittenCanonically() throws {
        // Escaped names sort as what they decode to: NUL, newline, "/", "A", "Ax".
        let text = #"{"d":{"A":4,"\u0041x":5,"\/":3,"\n":2,"\u0000":1}}"#
        let members = try #require(JSONParser.parseShallowObject(Array(text.utf8)))
        #expect(members.first?.1 == .object(canonical: Array(#"{"\u0000":1,"\n":2,"/":3,"A":4,"Ax":5}"#.utf8)))
        // An escaped spelling of a name already there is a duplicate.
        #expect(JSONParser.parseShallowObject(Array(#"{"d":{"A":1,"\u0041":2}}"#.utf8)) == nil)
        #expect(JSONParser.parse(Array(#"{"d":{"A":1,"\u0041":2}}"#.utf8)) == nil)
    }

    @Test func mixedNestingAgreesUpToAndPastTheDepthLimit() {
        // Objects and arrays in turn, members out of order at every level, for depths around 64.
        for levels in 60...67 {
            var text = ""
            for level in 0..<levels { text += level.isMultiple(of: 2) ? #"{"z":1,"y":"# : "[0," }
            text += "null"
            for level in (0..<levels).reversed() { text += level.isMultiple(of: 2) ? #","a":2}"# : "]" }
            Self.expectAgreement(Array(text.utf8))
            #expect((JSONParser.parse(Array(text.utf8)) != nil) == (levels <= 64), "\(levels) levels")
        }
    }

    @Test func aNameThatIsNotASCIIIsLeftToTheTreeParser() throws {
        // Two spellings of é are one name to the tree parser (Swift string equality): refused.
        let twoSpellings = "{\"type\":\"access.requested\",\"subject\":\"a\",\"data\":{\"\u{e9}\":1,\"e\u{301}\":2}}"
        #expect(JSONParser.parseShallowObject(Array(twoSpellings.utf8)) == nil)
        #expect(ledgerError { _ = try Fixture.event(twoSpellings) }?.code == .invalidJSON)
        // One such name: the event decodes through the tree, with the same canonical data.
        let one = #"{"type":"access.requested","subject":"a","data":{"ø":1,"a":{"é":[2]}}}"#
        let event = try Fixture.event(one)
        #expect(event.data == Array(#"{"a":{"é":[2]},"ø":1}"#.utf8))
    }

    @Test func generatedTextsAgree() {
        var random = SplitMix64(seed: 0x5EED_0001)
        var readShallowly = 0
        for _ in 0..<20_000 {
            var text: [UInt8] = []
            Self.writeObject(&text, depth: 0, random: &random)
            if Self.expectAgreement(text) { readShallowly += 1 }
        }
        // Most texts take the shallow path, so the comparison above is of its output, not of two refusals.
        #expect(readShallowly > 8_000, "\(readShallowly)")
    }

    @Test func generatedTextsWithBrokenBytesAgree() {
        var random = SplitMix64(seed: 0x5EED_0002)
        let breakers: [UInt8] = Array(#"{}[]",:\ 0-.eE"#.utf8) + [0x00, 0x1F, 0x80, 0xC3, 0xFF, UInt8(ascii: "u")]
        for _ in 0..<20_000 {
            var text: [UInt8] = []
            Self.writeObject(&text, depth: 0, random: &random)
            for _ in 0..<(1 + random.below(3)) where !text.isEmpty {
                let at = random.below(text.count)
                switch random.below(4) {
                case 0: text[at] = random.pick(breakers) ?? 0
                case 1: text.insert(random.pick(breakers) ?? 0, at: at)
                case 2: text.insert(contentsOf: random.pick(Self.invalidUTF8) ?? [], at: at)
                default: text.remove(at: at)
                }
            }
            Self.expectAgreement(text)
        }
    }

    /// The shallow reader gives the tree's members, nested values canonical; or `nil` where the
    /// tree refuses the text, or it is no object, or it has a member name that is not ASCII.
    /// - Returns: Whether the shallow reader read the text.
    @discardableResult
    private static func expectAgreement(_ text: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        let shallow = JSONParser.parseShallowObject(text)
        let tree = JSONParser.parse(text)
        let shown = String(decoding: text, as: UTF8.self).debugDescription
        guard let shallow else {
            if let tree, case .object = tree {
                #expect(
                    hasNonASCIIName(tree),
                    "the tree reads an object the shallow reader refused: \(shown)",
                    sourceLocation: sourceLocation
                )
            }
            return false
        }
        guard case .object(let members)? = tree else {
            Issue.record("the shallow reader read what the tree refuses: \(shown)", sourceLocation: sourceLocation)
            return true
        }
        #expect(shallow.map(\.0) == members.map(\.0), "\(shown)", sourceLocation: sourceLocation)
        #expect(shallow.map(\.1) == members.map { ShallowJSON($0.1) }, "\(shown)", sourceLocation: sourceLocation)
        return true
    }

    private static func hasNonASCIIName(_ value: ParsedJSON) -> Bool {
        switch value {
        case .object(let members):
            return members.contains { !$0.0.utf8.allSatisfy { $0 < 0x80 } || hasNonASCIIName($0.1) }
        case .array(let items): return items.contains(where: hasNonASCIIName)
        default: return false
        }
    }

    // MARK: - A generator of JSON texts in many spellings

    private static let names = [
        "a", "b", "B", "A", "ab", "source", "ip", "userAgent", "z", "", "k\\\"", "\\u0061", "\\u0041", "\\n",
        "\\u0000", "\\/", "/", "é",
    ]
    private static let strings = [
        "", "x", "web-signup", "Mozilla/5.0 (X11; Linux x86_64)", "bl\u{e5}b\u{e6}r", "😀", "\\n", "\\\"", "\\\\",
        "\\/", "\\u00e9", "\\ud83d\\ude00", "\\u0000", "a\\tb", "\u{7F}", "\u{2028}",
    ]
    /// An overlong encoding, an encoded surrogate, a code point past U+10FFFF, a cut sequence.
    private static let invalidUTF8: [[UInt8]] = [
        [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF0, 0x9F, 0x98],
    ]
    private static let numbers = [
        "0", "-0", "1", "-1", "1.0", "2.50", "1e2", "1E-2", "1e+9", "1e400", "12345678901234567890",
    ]

    private static func space(_ text: inout [UInt8], random: inout SplitMix64) {
        if random.chance(20) { text += (random.pick([" ", "\n", "\t", "\r\n ", "  "]) ?? " ").utf8 }
    }

    private static func writeValue(_ text: inout [UInt8], depth: Int, random: inout SplitMix64) {
        space(&text, random: &random)
        switch random.below(depth > 3 ? 5 : 7) {
        case 0: text += (random.pick(["true", "false", "null"]) ?? "null").utf8
        case 1, 2: text += (random.pick(numbers) ?? "0").utf8
        case 3, 4: text += ("\"" + (random.pick(strings) ?? "") + "\"").utf8
        case 5:
            text.append(UInt8(ascii: "["))
            for position in 0..<random.below(4) {
                if position > 0 { text.append(UInt8(ascii: ",")) }
                writeValue(&text, depth: depth + 1, random: &random)
            }
            space(&text, random: &random)
            text.append(UInt8(ascii: "]"))
        default: writeObject(&text, depth: depth + 1, random: &random)
        }
        space(&text, random: &random)
    }

    private static func writeObject(_ text: inout [UInt8], depth: Int, random: inout SplitMix64) {
        space(&text, random: &random)
        text.append(UInt8(ascii: "{"))
        var used: [String] = []
        for position in 0..<random.below(6) {
            if position > 0 { text.append(UInt8(ascii: ",")) }
            // Now and then a name twice: both readers must refuse it.
            var name = random.pick(names) ?? "a"
            while used.contains(name), !random.chance(3) { name = random.pick(names) ?? "a" }
            used.append(name)
            space(&text, random: &random)
            text += ("\"" + name + "\"").utf8
            space(&text, random: &random)
            text.append(UInt8(ascii: ":"))
            writeValue(&text, depth: depth, random: &random)
        }
        space(&text, random: &random)
        text.append(UInt8(ascii: "}"))
        space(&text, random: &random)
    }
}
