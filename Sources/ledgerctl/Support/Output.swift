import Foundation
import Ledger

/// Writes the command's output: JSON lines for `--json`, aligned tables for people.
enum Output {
    /// Writes `text` and a newline to standard output.
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Writes `text` to standard output as it is (it ends in its own newline).
    static func text(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Writes `text` and a newline to standard error.
    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Prints a refused input or a failure as SPEC §8 says: the error object on stdout with `--json`,
    /// a readable line on stderr otherwise.
    static func report(_ error: LedgerError, json: Bool) {
        if json {
            line(error.json.serialized)
        } else {
            error.line.map { Output.error("ledgerctl: line \($0): \(error.code.rawValue): \(error.message)") }
                ?? Output.error("ledgerctl: \(error.code.rawValue): \(error.message)")
        }
    }

    /// Formats rows as a table with a header, columns padded to their widest cell.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// Buffers standard output for commands that print many lines (exports).
struct BufferedOutput {
    private var buffer: [UInt8] = []

    mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= 1 << 20 { flush() }
    }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}
