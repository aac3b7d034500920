import Testing

@testable import Ledger

struct CanonicalJSONTests {
    private func canonical(_ text: String) throws -> String {
        let parsed = try #require(JSONParser.parse(Array(text.utf8)))
        return String(decoding: CanonicalJSON.serialize(parsed), as: UTF8.self)
    }

    @Test func keysAreSortedByTheirUTF8Bytes() throws {
        #expect(try canonical(#"{"b":1,"a":2,"B":3,"é":4,"aa":5}"#) == #"{"B":3,"a":2,"aa":5,"b":1,"é":4}"#)
    }

    @Test func valuesKeepTheirTypes() throws {
        #expect(
            try canonical(#"{"t":true,"f":false,"n":null,"i":-12,"u":18446744073709551615,"d":1.5,"w":2.0,"s":"x"}"#)
                == #"{"d":1.5,"f":false,"i":-12,"n":null,"s":"x","t":true,"u":18446744073709551615,"w":2.0}"#
        )
    }

    @Test func nestingAndWhitespaceAreNormalised() throws {
        #expect(try canonical(" { \"z\" : [ 1 , { \"y\" : [] , \"x\" : {} } ] } ") == #"{"z":[1,{"x":{},"y":[]}]}"#)
    }

    @Test func stringsEscapeOnlyWhatJSONRequires() throws {
        #expect(try canonical(#"{"s":"a\"b\\c\nd\u0001é/ø"}"#) == #"{"s":"a\"b\\c\nd\u0001é/ø"}"#)
    }

    @Test func theSameContentInAnotherOrderDecodesAlike() throws {
        let a = try Fixture.event(
            #"{"type":"access.requested","subject":"s","data":{"x":{"b":1,"a":[true,null]},"y":"z"}}"#
        )
        let b = try Fixture.event(
            #"{"data":{"y":"z","x":{"a":[true,null],"b":1}},"subject":"s","type":"access.requested"}"#
        )
        #expect(a == b)
        let c = try Fixture.event(
            #"{"type":"access.requested","subject":"s","data":{"x":{"b":2,"a":[true,null]},"y":"z"}}"#
        )
        #expect(a != c)
    }
}
