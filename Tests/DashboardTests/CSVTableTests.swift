import Dashboard
import Testing

/// RFC 4180 quoting and the formula-injection guard.
struct CSVTableTests {
    @Test func fieldsAreQuotedOnlyWhenTheyMustBe() {
        #expect(CSVTable.field("plain") == "plain")
        #expect(CSVTable.field("a,b") == "\"a,b\"")
        #expect(CSVTable.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSVTable.field("two\nlines") == "\"two\nlines\"")
        #expect(CSVTable.field("cr\rhere") == "\"cr\rhere\"")
        #expect(CSVTable.field("") == "")
    }

    @Test(arguments: ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "=HYPERLINK(\"http://x\",\"y\")"])
    func formulaStartsAreDefused(value: String) {
        let field = CSVTable.field(value)
        let unquoted =
            field.hasPrefix("\"") ? String(field.dropFirst().dropLast()).replacing("\"\"", with: "\"") : field
        #expect(unquoted == "'" + value)
    }

    @Test func aFormulaWithACommaIsBothDefusedAndQuoted() {
        #expect(CSVTable.field("=A1,B1") == "\"'=A1,B1\"")
        #expect(CSVTable.field("a=b") == "a=b")
    }

    @Test func linesEndInCRLFAndEveryRowIsWritten() {
        var table = CSVTable(header: ["a", "b"])
        for index in 0..<25_000 { table.append(["\(index)", "x,y"]) }
        let lines = table.text.components(separatedBy: "\r\n")
        #expect(lines.count == 25_002 && lines.last == "")
        #expect(lines[0] == "a,b" && lines[25_000] == "24999,\"x,y\"")
    }
}
