import Foundation
import Testing

@testable import Ledger

struct JSONParserTests {
    @Test(arguments: [
        "", " ", "{", "{]", "[1,]", "{\"a\":1,}", "01", "-", "1.", ".5", "1e", "+1", "'a'", "{'a':1}", "NaN", "tru",
        "\"a\u{01}b\"", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "[1] [2]", "{\"a\":1,\"a\":2}", "nul",
        String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
    ])
    func refusesWhatRFC8259Refuses(text: String) {
        #expect(JSONParser.parse(Array(text.utf8)) == nil, "\(text.debugDescription)")
    }

    @Test func stringsAreTakenAsTheirUTF8AndInvalidUTF8IsRefused() throws {
        // Plain ASCII (the fast path), raw multi-byte UTF-8, and the same after an escape.
        #expect(
            JSONParser.parse(Array(#"["plain ascii","blåbær ø 😀","x\n blåbær"]"#.utf8))
                == .array([.string("plain ascii"), .string("blåbær ø 😀"), .string("x\n blåbær")])
        )
        // A lone continuation byte, a truncated sequence, an overlong encoding: not UTF-8.
        for bad: [UInt8] in [[0x80], [0xC3], [0xC0, 0xAF], [0x61, 0xFF, 0x62]] {
            #expect(JSONParser.parse([0x22] + bad + [0x22]) == nil, "\(bad)")
            #expect(JSONParser.parse([0x22, 0x5C, 0x6E] + bad + [0x22]) == nil, "after an escape: \(bad)")
        }
    }

    @Test func parsesEscapesAndUnicode() throws {
        let parsed = try #require(JSONParser.parse(Array(#"{"s":"a\"b\\c\/d\n\u00e9\ud83d\ude00 ø"}"#.utf8)))
        #expect(parsed["s"] == .string("a\"b\\c/d\né😀 ø"))
    }

    @Test(arguments: [
        (
            #"{"b":1,"a":[true,false,null],"c":{"z":"y","x":-0.5}}"#,
            #"{"a":[true,false,null],"b":1,"c":{"x":-0.5,"z":"y"}}"#
        ),
        (
            #"{"n":[0,-0,1.0,2.50,1e2,1E-2,12345678901234567890,-1234567890123456789,123456789012345678901234567890]}"#,
            #"{"n":[0,-0,1.0,2.50,1e2,1E-2,12345678901234567890,-1234567890123456789,123456789012345678901234567890]}"#
        ),
        (#"{"é":1,"e":2,"E":3,"aa":{"":"empty"}}"#, #"{"E":3,"aa":{"":"empty"},"e":2,"é":1}"#),
        (#"{"s":"tab\tnew\nline \u0001 quote\" slash\/"}"#, #"{"s":"tab\tnew\nline \u0001 quote\" slash/"}"#),
    ])
    func canonicalFormSortsKeysAndKeepsNumbersAsWritten(text: String, canonical: String) throws {
        let parsed = try #require(JSONParser.parse(Array(text.utf8)))
        #expect(String(decoding: CanonicalJSON.serialize(parsed), as: UTF8.self) == canonical)
    }

    @Test func numbersBeyondADoubleAreKeptExactly() throws {
        let parsed = try #require(JSONParser.parse(Array(#"{"x":1e400,"y":0.1,"z":-1234567890123456789}"#.utf8)))
        #expect(
            String(decoding: CanonicalJSON.serialize(parsed), as: UTF8.self)
                == #"{"x":1e400,"y":0.1,"z":-1234567890123456789}"#
        )
        let event = try Fixture.event(#"{"type":"access.requested","subject":"a","data":{"x":1e400}}"#)
        #expect(event.data == Array(#"{"x":1e400}"#.utf8))
    }

    @Test func sameContentComparesNumbersByExactDecimalValue() {
        func same(_ a: String, _ b: String) -> Bool { CanonicalJSON.sameContent(Array(a.utf8), Array(b.utf8)) }
        // The forms the ledger stored before numbers were kept as written still match a retry.
        #expect(same(#"{"n":1}"#, #"{"n":1.0}"#))
        #expect(same(#"{"n":100}"#, #"{"n":1e2}"#))
        #expect(same(#"{"n":0.01}"#, #"{"n":1E-2}"#))
        #expect(same(#"{"n":2.5}"#, #"{"n":2.50}"#))
        #expect(same(#"{"n":0}"#, #"{"n":-0.0}"#))
        #expect(same(#"{"a":[1,{"b":10e-1}]}"#, #"{"a":[1.00,{"b":1}]}"#))
        #expect(!same(#"{"n":-1234567890123456789}"#, #"{"n":-1234567890123456788}"#))
        #expect(!same(#"{"n":-1234567890123456789}"#, #"{"n":-1.2345678901234568e+18}"#))
        #expect(!same(#"{"n":0.1}"#, #"{"n":0.10000000000000001}"#))
        #expect(!same(#"{"n":1e400}"#, #"{"n":1e401}"#))
        #expect(same(#"{"n":1e99999999999999999999}"#, #"{"n":1e99999999999999999999}"#))
        #expect(!same(#"{"n":1}"#, #"{"n":"1"}"#))
        #expect(!same(#"{"n":1}"#, #"{"n":1,"m":1}"#))
    }

    @Test func parseErrorsGiveTheirOffset() {
        #expect(throws: JSONSyntaxError(offset: 5)) { try JSONValue.parseReportingOffset(Array(#"{"a":}"#.utf8)) }
        #expect(throws: JSONSyntaxError(offset: 1)) { try JSONValue.parseReportingOffset(Array("{oops".utf8)) }
        #expect(throws: JSONSyntaxError(offset: 0)) { try JSONValue.parseReportingOffset([]) }
        #expect(throws: JSONSyntaxError(offset: 3)) { try JSONValue.parseReportingOffset(Array("{} x".utf8)) }
    }

    @Test func jsonValueReadsAndWritesNumbersAsText() throws {
        let text = #"{"seq":18446744073709551615,"d":0.1,"big":1e400,"neg":-1234567890123456789,"s":"x","n":null}"#
        let value = try #require(JSONValue.parse(Array(text.utf8)))
        #expect(value.serialized == text)
        #expect(value["seq"]?.uint64Value == UInt64.max)
        #expect(value["d"]?.uint64Value == nil)
        #expect(value["neg"]?.uint64Value == nil)
        #expect(value["s"]?.stringValue == "x")
        #expect(value["n"]?.isNull == true)
        #expect(JSONValue.parse(Array("{\"a\":007}".utf8)) == nil)
    }

    @Test func duplicateFieldsAreInvalidJSON() {
        let error = #expect(throws: LedgerError.self) {
            try Fixture.event(#"{"type":"access.requested","subject":"a","subject":"b"}"#)
        }
        #expect(error?.code == .invalidJSON)
    }
}
