/// A snapshot stored as the bytes it shares with an earlier snapshot stored whole (its base) and
/// the bytes of its own (README, "As of").
///
/// At a million subjects a snapshot is tens of megabytes, yet an interval of 100,000 events
/// changes at most a tenth of its records: storing every snapshot whole wrote all of it again at
/// each interval, which was a third of an import's writer time at that size. A delta names ranges
/// of its base for the records no event changed and carries the rest. Its base is always stored
/// whole, so reading a snapshot reads at most two, and the manifest's SHA-256 is of the whole
/// snapshot the delta makes, so it is checked exactly as a snapshot stored whole is.
///
/// The stored form (the payload the manifest's chunks hold): `CLsd1` ‖ u32 number of pieces ‖
/// each piece: u8 0 ‖ u64 offset ‖ u64 count (bytes of the base), or u8 1 ‖ u64 count ‖ the bytes.
package struct SnapshotDelta: Sendable, Equatable {
    /// One run of a snapshot's bytes, in order.
    package enum Piece: Sendable, Equatable {
        /// `count` bytes of the earlier snapshot, from `offset`.
        case earlier(offset: Int, count: Int)
        /// `count` bytes of the snapshot's own.
        case own(count: Int)

        var count: Int {
            switch self {
            case .earlier(_, let count), .own(let count): count
            }
        }
    }

    /// The seq of the snapshot stored whole that ``pieces`` copy from.
    package let baseSeq: UInt64
    /// The snapshot's bytes, in order: ranges of the base and runs of its own.
    package private(set) var pieces: [Piece] = []
    /// The length of the snapshot.
    package private(set) var length = 0
    /// How many of its bytes are its own (what storing it as a delta writes).
    package private(set) var ownBytes = 0

    static let magic = Array("CLsd1".utf8)

    /// The snapshot stored whole at `seq`, as a delta of itself: what the next one continues from.
    package static func whole(at seq: UInt64, length: Int) -> SnapshotDelta {
        var delta = SnapshotDelta(baseSeq: seq)
        delta.append(.earlier(offset: 0, count: length))
        return delta
    }

    private init(baseSeq: UInt64) { self.baseSeq = baseSeq }

    /// The delta a stored `payload` describes: a snapshot of `length` bytes made from the one
    /// stored whole at `baseSeq`, `baseLength` bytes long. A writer that read a snapshot stored
    /// as a delta continues from this form, so the next snapshot can be a delta of the same base.
    /// - Returns: `nil` when `payload` is not such a delta.
    package init?(payload: [UInt8], baseSeq: UInt64, length: Int, baseLength: Int) {
        guard let stored = Self.parse(payload, length: length, baseLength: baseLength) else { return nil }
        self.init(baseSeq: baseSeq)
        for piece in stored {
            switch piece {
            case .base(let offset, let count): append(.earlier(offset: offset, count: count))
            case .own(_, let count): append(.own(count: count))
            }
        }
    }

    /// Adds a piece at the end, joined to the last one when they are contiguous.
    private mutating func append(_ piece: Piece) {
        guard piece.count > 0 else { return }
        length += piece.count
        switch (pieces.last, piece) {
        case (.own(let last)?, .own(let count)):
            pieces[pieces.count - 1] = .own(count: last + count)
            ownBytes += count
        case (.earlier(let lastOffset, let last)?, .earlier(let offset, let count)) where lastOffset + last == offset:
            pieces[pieces.count - 1] = .earlier(offset: lastOffset, count: last + count)
        case (_, .own(let count)):
            pieces.append(piece)
            ownBytes += count
        default:
            pieces.append(piece)
        }
    }

    /// The snapshot that `next` describes, as a delta of this one's base: `next`'s pieces copy
    /// from the snapshot this delta describes (``Piece/earlier(offset:count:)``) or are its own.
    /// - Returns: `nil` when a piece of `next` reaches past this snapshot's end.
    package func continued(by next: [Piece]) -> SnapshotDelta? {
        var result = SnapshotDelta(baseSeq: baseSeq)
        // Where each of this delta's pieces starts in the snapshot it describes.
        var starts: [Int] = []
        starts.reserveCapacity(pieces.count)
        var position = 0
        for piece in pieces {
            starts.append(position)
            position += piece.count
        }
        for piece in next {
            guard case .earlier(var offset, let count) = piece else {
                result.append(piece)
                continue
            }
            guard offset >= 0, count >= 0, offset <= length - count else { return nil }
            let end = offset + count
            var index = Self.lastIndex(in: starts, notAbove: offset)
            while offset < end, index < pieces.count {
                let start = starts[index]
                let available = min(end, start + pieces[index].count) - offset
                switch pieces[index] {
                case .earlier(let baseOffset, _):
                    result.append(.earlier(offset: baseOffset + (offset - start), count: available))
                case .own:
                    result.append(.own(count: available))
                }
                offset += available
                index += 1
            }
        }
        return result
    }

    /// The index of the last element of the ascending `starts` that is not above `offset`.
    private static func lastIndex(in starts: [Int], notAbove offset: Int) -> Int {
        var low = 0
        var high = starts.count
        while low < high {
            let middle = (low + high) / 2
            if starts[middle] <= offset { low = middle + 1 } else { high = middle }
        }
        return max(0, low - 1)
    }

    /// The stored form of this delta of the snapshot `bytes` (which it describes): its own pieces'
    /// bytes are taken from `bytes`.
    package func payload(of bytes: [UInt8]) -> [UInt8] {
        var writer = ByteWriter(capacity: Self.magic.count + 4 + pieces.count * 17 + ownBytes)
        writer.write(Self.magic)
        writer.write(u32: UInt32(pieces.count))
        var position = 0
        for piece in pieces {
            switch piece {
            case .earlier(let offset, let count):
                writer.write(u8: 0)
                writer.write(u64: UInt64(offset))
                writer.write(u64: UInt64(count))
            case .own(let count):
                writer.write(u8: 1)
                writer.write(u64: UInt64(count))
                writer.write(bytes[position..<(position + count)])
            }
            position += piece.count
        }
        return writer.bytes
    }

    /// The snapshot the stored `payload` makes from `base`; `nil` when the payload is malformed,
    /// reaches outside the base, or does not make `length` bytes.
    package static func assemble(payload: [UInt8], base: [UInt8], length: Int) -> [UInt8]? {
        base.withUnsafeBytes { base in
            assemble(payload: payload, length: length, baseLength: base.count) { part in _ = part(base) }
        }
    }

    /// The snapshot the stored `payload` makes from a base of `baseLength` bytes that
    /// `forEachBasePart` lends in consecutive parts, in order (the base's stored chunks, read in
    /// place: no copy of the whole base is made). `nil` when the payload is malformed, its ranges
    /// of the base are not ascending and apart (as every writer makes them), reach outside the
    /// base, or do not make `length` bytes.
    /// - Parameter forEachBasePart: Calls its argument with each part until it returns `false`.
    package static func assemble(
        payload: [UInt8],
        length: Int,
        baseLength: Int,
        forEachBasePart: ((UnsafeRawBufferPointer) -> Bool) throws -> Void
    ) rethrows -> [UInt8]? {
        // The base's ranges never overlap and the own bytes are in the payload: a longer snapshot
        // is a damaged manifest, and is refused before anything is reserved for it.
        guard length >= 0, baseLength >= 0, length <= baseLength + payload.count,
            let pieces = parse(payload, length: length, baseLength: baseLength)
        else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(length)
        var next = 0  // the first piece not yet written whole
        var written = 0  // how much of `pieces[next]` is written
        var partStart = 0  // where the current part starts in the base
        var valid = true
        try payload.withUnsafeBytes { payload in
            /// Writes the pieces that need no base bytes beyond `partEnd`.
            func writePieces(through partEnd: Int, from part: UnsafeRawBufferPointer) -> Bool {
                while next < pieces.count {
                    switch pieces[next] {
                    case .own(let from, let count):
                        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: payload[from..<(from + count)]))
                        next += 1
                    case .base(let offset, let count):
                        let position = offset + written
                        guard position >= partStart else {
                            valid = false
                            return false
                        }
                        guard position < partEnd else { return true }
                        let taken = min(offset + count, partEnd) - position
                        bytes.append(
                            contentsOf: UnsafeRawBufferPointer(
                                rebasing: part[(position - partStart)..<(position - partStart + taken)]
                            )
                        )
                        written += taken
                        if written == count {
                            next += 1
                            written = 0
                        }
                    }
                }
                return true
            }
            try forEachBasePart { part in
                let partEnd = partStart + part.count
                guard writePieces(through: partEnd, from: part) else { return false }
                partStart = partEnd
                return next < pieces.count
            }
            if valid, next < pieces.count {
                // Only pieces of its own can remain once the base is read to its end.
                valid = writePieces(through: partStart, from: UnsafeRawBufferPointer(start: nil, count: 0))
            }
        }
        guard valid, next == pieces.count, bytes.count == length else { return nil }
        return bytes
    }

    /// A piece of a stored payload: a range of the base, or a range of the payload itself.
    private enum StoredPiece {
        case base(offset: Int, count: Int)
        case own(from: Int, count: Int)
    }

    /// The pieces of a stored payload, checked against the snapshot's and the base's lengths.
    private static func parse(_ payload: [UInt8], length: Int, baseLength: Int) -> [StoredPiece]? {
        payload.withUnsafeBytes { raw -> [StoredPiece]? in
            var reader = ByteReader(raw)
            guard reader.read(count: magic.count) == magic, let count = reader.readU32() else { return nil }
            var pieces: [StoredPiece] = []
            var made = 0
            var baseEnd = 0  // the end of the last range of the base: the next starts at or after it
            for _ in 0..<count {
                guard let tag = reader.readU8(), let first = reader.readU64() else { return nil }
                let room = UInt64(length - made)
                switch tag {
                case 0:
                    guard let count = reader.readU64(), count <= room, first <= UInt64(baseLength),
                        count <= UInt64(baseLength) - first, Int(first) >= baseEnd
                    else { return nil }
                    pieces.append(.base(offset: Int(first), count: Int(count)))
                    baseEnd = Int(first + count)
                    made += Int(count)
                case 1:
                    let from = reader.offset
                    guard first <= room, reader.skip(count: Int(first)) else { return nil }
                    pieces.append(.own(from: from, count: Int(first)))
                    made += Int(first)
                default:
                    return nil
                }
            }
            guard reader.isAtEnd, made == length else { return nil }
            return pieces
        }
    }
}
