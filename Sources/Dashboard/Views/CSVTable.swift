/// A table written as CSV (RFC 4180): a header line, then one line per row, every line ending in
/// CRLF; a field holding a comma, a double quote, CR or LF is quoted, its quotes doubled.
///
/// Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` as a formula (and some treat a
/// leading tab or CR the same way), so such a field gets a `'` in front first: the cell then reads
/// as text. The tables are laid out so that no number needs that (days overdue have a column of
/// their own rather than a minus sign).
package struct CSVTable: Sendable, Equatable {
    /// The column names.
    package var header: [String]
    /// The rows, each as many fields as the header.
    package var rows: [[String]] = []

    /// An empty table with these columns.
    package init(header: [String]) { self.header = header }

    /// A table with these columns and rows.
    package init(header: [String], rows: [[String]]) {
        self.header = header
        self.rows = rows
    }

    /// Adds a row.
    package mutating func append(_ row: [String]) { rows.append(row) }

    /// The whole table as CSV text.
    package var text: String {
        var text = ""
        for line in [header] + rows {
            text += line.map(Self.field).joined(separator: ",")
            text += "\r\n"
        }
        return text
    }

    /// One field, guarded against formula injection and quoted when RFC 4180 asks for it.
    package static func field(_ value: String) -> String {
        var value = value
        if let first = value.unicodeScalars.first, formulaStarts.contains(first) { value = "'" + value }
        guard value.unicodeScalars.contains(where: { mustQuote.contains($0) }) else { return value }
        return "\"" + value.replacing("\"", with: "\"\"") + "\""
    }

    private static let formulaStarts: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r"]
    private static let mustQuote: Set<Unicode.Scalar> = [",", "\"", "\r", "\n"]
}
