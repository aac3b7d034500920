import Foundation

/// Reads a file line by line (`\n`-separated, a trailing `\r` removed) in large blocks, so exports
/// and imports of any size stream through constant memory.
///
/// A line longer than ``maxLineBytes`` is refused as soon as that many bytes arrive without a
/// newline, so an endless line (`/dev/zero`, a binary file) cannot grow memory without bound.
public struct LineReader {
    /// The longest line read by default: the socket's body limit (SPEC §7, 1 MiB).
    public static let defaultMaxLineBytes = 1 << 20
    /// How much one read asks for.
    static let blockSize = 1 << 20

    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var position = 0
    /// Where the search for the next newline resumes: bytes before it hold none.
    private var scanned = 0
    private var atEnd = false
    /// The longest line, in bytes without its newline (a trailing `\r` counts).
    public let maxLineBytes: Int
    /// The 1-based number of the line last returned.
    public private(set) var lineNumber = 0
    /// The bytes of the lines returned so far, newlines included.
    public private(set) var bytesConsumed: UInt64 = 0

    /// Opens `path`; `-` means standard input.
    /// - Parameter maxLineBytes: The longest line accepted (at least 1; at most `Int.max / 2`, so the
    ///   read arithmetic cannot overflow: `Int.max` means no limit a file can reach).
    /// - Throws: ``LedgerError`` `unreadable_input` when the file cannot be opened.
    public init(path: String, maxLineBytes: Int = LineReader.defaultMaxLineBytes) throws {
        self.maxLineBytes = min(max(1, maxLineBytes), Int.max / 2)
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
    /// - Throws: ``LedgerError`` `payload_too_large` naming the line when it is longer than
    ///   ``maxLineBytes``; `unreadable_input` when the file cannot be read.
    public mutating func next() throws -> [UInt8]? {
        while true {
            if let newline = buffer[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                try checkLength(newline - position)
                var line = Array(buffer[position..<newline])
                bytesConsumed += UInt64(newline + 1 - position)
                position = newline + 1
                scanned = position
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                lineNumber += 1
                return line
            }
            scanned = buffer.count
            try checkLength(buffer.count - position)
            if atEnd {
                guard position < buffer.count else { return nil }
                let line = Array(buffer[position...])
                bytesConsumed += UInt64(buffer.count - position)
                position = buffer.count
                scanned = position
                lineNumber += 1
                return line
            }
            buffer.removeFirst(position)
            scanned -= position
            position = 0
            let chunk: Data?
            do {
                // Never more than one byte past the limit: the line is refused once it gets there.
                chunk = try handle.read(upToCount: min(Self.blockSize, maxLineBytes + 2 - buffer.count))
            } catch {
                throw LedgerError(.unreadableInput, "the input cannot be read after line \(lineNumber)")
            }
            if let chunk, !chunk.isEmpty { buffer.append(contentsOf: chunk) } else { atEnd = true }
        }
    }

    /// Refuses the line being read when `length` bytes of it already exceed the limit.
    private func checkLength(_ length: Int) throws {
        guard length <= maxLineBytes else {
            throw LedgerError(
                .payloadTooLarge,
                "the line is longer than \(maxLineBytes) bytes; it was not read further",
                line: lineNumber + 1
            )
        }
    }
}
