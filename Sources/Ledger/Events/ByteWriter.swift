/// Builds the ledger's canonical binary encodings: big-endian integers and u32-length-prefixed
/// strings and byte strings (SPEC §4's `u64`, `i64`, `s(x)`, `b(x)`).
package struct ByteWriter {
    package private(set) var bytes: [UInt8]

    package init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Writes into `buffer`'s storage, emptied: when no one else holds it, its pages are reused
    /// instead of fresh ones faulted in and zeroed (what a snapshot of a million subjects, tens
    /// of megabytes written every interval, spent most of its time on).
    package init(reusing buffer: consuming [UInt8], capacity: Int) {
        bytes = consume buffer
        bytes.removeAll(keepingCapacity: true)
        bytes.reserveCapacity(capacity)
    }

    package mutating func write(_ raw: some Sequence<UInt8>) { bytes.append(contentsOf: raw) }

    package mutating func write(u8 value: UInt8) { bytes.append(value) }

    package mutating func write(u32 value: UInt32) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    package mutating func write(u64 value: UInt64) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    package mutating func write(i64 value: Int64) { write(u64: UInt64(bitPattern: value)) }

    /// `s(x)`: u32 length then the UTF-8 bytes.
    package mutating func write(string value: String) {
        var copy = value
        copy.withUTF8 { utf8 in
            write(u32: UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// `b(x)`: u32 length then the raw bytes.
    package mutating func write(lengthPrefixed value: some Collection<UInt8>) {
        write(u32: UInt32(value.count))
        bytes.append(contentsOf: value)
    }
}

/// Reads what ``ByteWriter`` wrote, returning `nil` (never trapping) on truncated or malformed input.
package struct ByteReader {
    private let bytes: UnsafeRawBufferPointer
    package private(set) var offset: Int = 0

    package init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    package var isAtEnd: Bool { offset == bytes.count }

    package mutating func read(count: Int) -> [UInt8]? {
        guard count >= 0, offset + count <= bytes.count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    /// Skips `count` bytes; `false` when fewer remain.
    package mutating func skip(count: Int) -> Bool {
        guard count >= 0, offset + count <= bytes.count else { return false }
        offset += count
        return true
    }

    /// Skips a length-prefixed field and returns where its bytes are; `nil` when it is truncated.
    package mutating func skipField() -> Range<Int>? {
        guard let length = readU32() else { return nil }
        let start = offset
        guard skip(count: Int(length)) else { return nil }
        return start..<offset
    }

    /// A length-prefixed field's bytes, in place (valid while the buffer read is); `nil` when it is
    /// truncated.
    package mutating func readField() -> UnsafeRawBufferPointer? {
        skipField().map { UnsafeRawBufferPointer(rebasing: bytes[$0]) }
    }

    /// Skips a length-prefixed string or byte string; `false` when it is truncated.
    package mutating func skipLengthPrefixed() -> Bool {
        guard let length = readU32() else { return false }
        return skip(count: Int(length))
    }

    package mutating func readU8() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    package mutating func readU32() -> UInt32? {
        guard offset + 4 <= bytes.count else { return nil }
        defer { offset += 4 }
        return UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    package mutating func readU64() -> UInt64? {
        guard offset + 8 <= bytes.count else { return nil }
        defer { offset += 8 }
        return UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    package mutating func readI64() -> Int64? { readU64().map { Int64(bitPattern: $0) } }

    package mutating func readString() -> String? {
        readField().flatMap { String(validating: $0, as: UTF8.self) }
    }

    package mutating func readLengthPrefixed() -> [UInt8]? {
        guard let length = readU32() else { return nil }
        return read(count: Int(length))
    }
}
