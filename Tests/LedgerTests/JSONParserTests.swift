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
        #"{"b":1,"a":[true,false,null],"c":{"z":"y","x":-0.5}}"#,
        // 19-digit negatives are left out: Foundation reads them as doubles, the ledger's parser keeps them exact.
        #"{"n":[0,-0,1.0,2.50,1e2,1E-2,12345678901234567890,-922337203685477580,123456789012345678]}"#,
        #"{"é":1,"e":2,"E":3,"aa":{"":"empty"}}"#,
        #"{"s":"tab\tnew\nline \u0001 quote\" slash\/"}"#,
    ])
    func givesTheSameCanonicalFormAsFoundation(text: String) throws {
        let parsed = try #require(JSONParser.parse(Array(text.utf8)))
        let ours = try #require(CanonicalJSON.serialize(parsed))
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        let foundation = try #require(CanonicalJSON.serialize(object))
        #expect(String(decoding: ours, as: UTF8.self) == String(decoding: foundation, as: UTF8.self))
    }

    @Test func numbersThatDoNotFitADoubleAreRefused() throws {
        let parsed = try #require(JSONParser.parse(Array(#"{"x":1e400}"#.utf8)))
        #expect(CanonicalJSON.serialize(parsed) == nil)
        let error = #expect(throws: LedgerError.self) {
            try Fixture.event(#"{"type":"access.requested","subject":"a","data":{"x":1e400}}"#)
        }
        #expect(error?.code == .invalidField)
    }

    @Test func duplicateFieldsAreInvalidJSON() {
        let error = #expect(throws: LedgerError.self) {
            try Fixture.event(#"{"type":"access.requested","subject":"a","subject":"b"}"#)
        }
        #expect(error?.code == .invalidJSON)
    }
}
