import Foundation

/// Reads a file line by line (`\n`-separated, a trailing `\r` removed) in large blocks, so exports
/// and imports of any size stream through constant memory.
public struct LineReader {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var position = 0
    private var atEnd = false
    /// The 1-based number of the line last returned.
    public private(set) var lineNumber = 0
    /// The bytes of the lines returned so far, newlines included.
    public private(set) var bytesConsumed: UInt64 = 0

    /// Opens `path`; `-` means standard input.
    /// - Throws: ``LedgerError`` `unreadable_input` when the file cannot be opened.
    public init(path: String) throws {
        if path == "-" {
            handle = FileHandle.standardInput
        } else {
            guard let opened = FileHandle(forReadingAtPath: path) else {
                throw LedgerError(.unreadableInput, "cannot open \(path)")
            }
            handle = opened
        }
    }

    /// The next line's bytes without its newline, or `nil` at the end of the file.
    public mutating func next() throws -> [UInt8]? {
        while true {
            if let newline = buffer[position...].firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffer[position..<newline])
                bytesConsumed += UInt64(newline + 1 - position)
                position = newline + 1
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                lineNumber += 1
                return line
            }
            if atEnd {
                guard position < buffer.count else { return nil }
                let line = Array(buffer[position...])
                bytesConsumed += UInt64(buffer.count - position)
                position = buffer.count
                lineNumber += 1
                return line
            }
            buffer.removeFirst(position)
            position = 0
            let chunk: Data?
            do {
                chunk = try handle.read(upToCount: 4 << 20)
            } catch {
                throw LedgerError(.unreadableInput, "the input cannot be read after line \(lineNumber)")
            }
            if let chunk, !chunk.isEmpty { buffer.append(contentsOf: chunk) } else { atEnd = true }
        }
    }
}
