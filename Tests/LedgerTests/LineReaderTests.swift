import Foundation
import Testing

@testable import Ledger

/// ``LineReader`` stops at its line limit instead of reading an endless line into memory.
struct LineReaderTests {
    private func write(_ bytes: [UInt8], in directory: TemporaryDirectory) -> String {
        let path = directory.path + "/input.ndjson"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    @Test func aLineOverTheLimitIsRefusedAtItsNumber() throws {
        let directory = TemporaryDirectory()
        // NUL bytes and no newline after the long line, like /dev/zero.
        let bytes = Array("first\r\nsecond\n".utf8) + [UInt8](repeating: 0, count: 2 << 20) + Array("\nlast\n".utf8)
        var reader = try LineReader(path: write(bytes, in: directory))
        #expect(try reader.next() == Array("first".utf8))
        #expect(try reader.next() == Array("second".utf8))
        let error = #expect(throws: LedgerError.self) { try reader.next() }
        #expect(error?.code == .payloadTooLarge)
        #expect(error?.line == 3)
    }

    @Test func linesUpToTheLimitAreRead() throws {
        let directory = TemporaryDirectory()
        let exact = [UInt8](repeating: UInt8(ascii: "x"), count: 1000)
        let bytes = exact + [0x0A] + exact + [UInt8(ascii: "x")] + [0x0A] + exact
        var reader = try LineReader(path: write(bytes, in: directory), maxLineBytes: 1000)
        #expect(try reader.next() == exact)
        #expect(throws: LedgerError.self) { try reader.next() }
        var last = try LineReader(path: write(exact, in: directory), maxLineBytes: 1000)
        #expect(try last.next() == exact)
        #expect(try last.next() == nil)
        var defaultLimit = try LineReader(path: write([UInt8](repeating: 0x41, count: 1 << 20), in: directory))
        #expect(try defaultLimit.next()?.count == 1 << 20)
    }

    @Test func linesSplitAcrossShortReadsOfAPipeComeWhole() throws {
        // A pipe gives what was written so far: lines arrive in pieces, a \r\n split between reads.
        let directory = TemporaryDirectory()
        let path = directory.path + "/pipe"
        #expect(mkfifo(path, 0o600) == 0)
        let text = Array("first line\r\nsecond\n\nthird, the last without a newline".utf8)
        let writer = Thread {
            guard let handle = FileHandle(forWritingAtPath: path) else { return }
            for start in stride(from: 0, to: text.count, by: 3) {
                handle.write(Data(text[start..<min(start + 3, text.count)]))
                usleep(200)
            }
            try? handle.close()
        }
        writer.start()
        var reader = try LineReader(path: path)
        var lines: [String] = []
        while let line = try reader.next() { lines.append(String(decoding: line, as: UTF8.self)) }
        #expect(lines == ["first line", "second", "", "third, the last without a newline"])
        #expect(reader.bytesConsumed == UInt64(text.count))
        #expect(reader.lineNumber == 4)
    }

    @Test func devZeroEndsAtTheLimit() throws {
        var reader = try LineReader(path: "/dev/zero")
        let error = #expect(throws: LedgerError.self) { try reader.next() }
        #expect(error?.code == .payloadTooLarge && error?.line == 1)
    }
}

/// The line limit's extremes: `Int.max` (no limit a file can reach) once overflowed the read size.
struct LineReaderLimitTests {
    @Test func theLargestLimitReadsLines() throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/input.ndjson"
        _ = FileManager.default.createFile(atPath: path, contents: Data("a\nbc".utf8))
        var reader = try LineReader(path: path, maxLineBytes: Int.max)
        #expect(try reader.next() == Array("a".utf8))
        #expect(try reader.next() == Array("bc".utf8))
        #expect(try reader.next() == nil)
        var smallest = try LineReader(path: path, maxLineBytes: Int.min)
        #expect(smallest.maxLineBytes == 1)
        #expect(try smallest.next() == Array("a".utf8))
        #expect(throws: LedgerError.self) { try smallest.next() }
    }
}
