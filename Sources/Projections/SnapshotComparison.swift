import Foundation
import Ledger

/// Compares the stored snapshots with the refold of the log, byte for byte, in seq order, without
/// encoding the whole projection at each: a subject that no event touched since the previous
/// stored snapshot has the same record in both snapshots, so its record is compared with the one
/// in the previous stored snapshot (already found equal to the refold) and only the subjects
/// touched in between are encoded (``LedgerProjection/write(subject:_:into:)``).
///
/// `rebuild` needs this at a million subjects: one snapshot every 100,000 events holds every
/// subject, so encoding each whole refold costs ten subject encodings per event folded.
///
/// ``matches(_:_:)`` is true exactly when the stored bytes equal ``LedgerProjection/snapshot``
/// of the captured refold: the header agrees (so the stored snapshot holds as many subjects as
/// the refold), its pseudonyms strictly increase, each touched subject's record is its encoding,
/// each other record is found, the same, in the previous snapshot (whose subjects are all in the
/// refold, unchanged), and the requests part is the refold's.
struct SnapshotComparison {
    /// What the fold captures at a stored snapshot's seq, without copying the whole projection.
    struct Capture: Sendable {
        /// The seq of the snapshot (the refold's ``LedgerProjection/throughSeq``).
        var seq: UInt64
        /// How many subjects the refold holds.
        var subjectCount: Int
        /// The subjects events touched since the previous stored snapshot (every subject, for
        /// the first), as the refold holds them at `seq`.
        var touched: [Pseudonym: SubjectProjection]
        /// The refold's requests.
        var requests: [String: RequestProjection]
    }

    /// The previous stored snapshot, found equal to the refold at its seq; `nil` before the first.
    private var previous: [UInt8]?

    /// An empty comparison: the first capture must hold every subject as touched.
    init() {}

    /// Whether `stored` is byte for byte the snapshot of the refold that `capture` describes.
    /// When it is, `stored` becomes the previous snapshot of the next comparison.
    mutating func matches(_ stored: [UInt8], _ capture: Capture) -> Bool {
        let previous = previous ?? []
        let same = stored.withUnsafeBytes { stored in
            previous.withUnsafeBytes { previous in
                Self.matches(stored, capture, previous: previous.isEmpty ? nil : previous)
            }
        }
        if same { self.previous = stored }
        return same
    }

    private static func matches(
        _ stored: UnsafeRawBufferPointer,
        _ capture: Capture,
        previous: UnsafeRawBufferPointer?
    ) -> Bool {
        guard capture.subjectCount <= Int(UInt32.max) else { return false }
        var header = ByteWriter(capacity: 32)
        LedgerProjection.writeHeader(throughSeq: capture.seq, subjectCount: capture.subjectCount, into: &header)
        guard stored.count >= header.bytes.count,
            header.bytes.elementsEqual(stored[0..<header.bytes.count])
        else { return false }
        var reader = ByteReader(UnsafeRawBufferPointer(rebasing: stored[header.bytes.count...]))
        var offset = header.bytes.count
        // The previous snapshot's subjects, walked in step (both are in pseudonym order).
        var earlier: SubjectRecords?
        if let previous {
            guard let records = SubjectRecords(previous) else { return false }
            earlier = records
        }
        // The touched subjects in pseudonym order, walked in step too: no lookup per subject.
        let touched = capture.touched.sorted { $0.key < $1.key }
        var nextTouched = touched.startIndex
        var last: Pseudonym?
        for _ in 0..<capture.subjectCount {
            guard let (id, length) = SubjectRecords.next(&reader) else { return false }
            let record = UnsafeRawBufferPointer(rebasing: stored[offset..<(offset + length)])
            offset += length
            if let last, !(last < id) { return false }
            last = id
            while nextTouched < touched.endIndex, touched[nextTouched].key < id { nextTouched += 1 }
            if nextTouched < touched.endIndex, touched[nextTouched].key == id {
                var writer = ByteWriter(capacity: length)
                LedgerProjection.write(subject: id, touched[nextTouched].value, into: &writer)
                guard writer.bytes.withUnsafeBytes({ same($0, record) }) else { return false }
            } else {
                guard let earlier = earlier?.record(of: id), same(earlier, record) else { return false }
            }
        }
        var requests = ByteWriter(capacity: 16 + capture.requests.count * 80)
        LedgerProjection.write(requests: capture.requests, into: &requests)
        return requests.bytes.withUnsafeBytes { same($0, UnsafeRawBufferPointer(rebasing: stored[offset...])) }
    }
}

/// Whether two buffers hold the same bytes.
private func same(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    guard let left = a.baseAddress, let right = b.baseAddress else { return true }
    return memcmp(left, right, a.count) == 0
}

/// The subject records of a stored snapshot, read in order without decoding them.
struct SubjectRecords {
    private let bytes: UnsafeRawBufferPointer
    private var reader: ByteReader
    private var offset: Int
    private var remaining: UInt32

    /// The records of `snapshot`, after its header; `nil` when the header is not one.
    init?(_ snapshot: UnsafeRawBufferPointer) {
        var header = ByteReader(snapshot)
        guard let (_, count) = LedgerProjection.readHeader(&header) else { return nil }
        bytes = snapshot
        offset = header.offset
        reader = ByteReader(UnsafeRawBufferPointer(rebasing: snapshot[offset...]))
        remaining = count
    }

    /// The record of `id`, skipping the records before it; `nil` when there is none (records
    /// after it stay unread, for the next, greater pseudonym).
    mutating func record(of id: Pseudonym) -> UnsafeRawBufferPointer? {
        while remaining > 0 {
            var ahead = reader
            guard let (found, length) = Self.next(&ahead) else { return nil }
            if id < found { return nil }
            reader = ahead
            remaining -= 1
            let record = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
            offset += length
            if found == id { return record }
        }
        return nil
    }

    /// Reads one subject record (``LedgerProjection/write(subject:_:into:)``): its pseudonym and
    /// its length in bytes; `nil` when it is truncated or malformed.
    static func next(_ reader: inout ByteReader) -> (Pseudonym, Int)? {
        let start = reader.offset
        guard let high = reader.readU64(), let low = reader.readU64(), let erased = reader.readU8(), erased <= 1 else {
            return nil
        }
        if erased == 1, !reader.skip(count: 16) { return nil }
        guard let consents = reader.readU32() else { return nil }
        for _ in 0..<consents {
            guard reader.skipLengthPrefixed(), reader.skip(count: 25) else { return nil }
        }
        return (Pseudonym(high: high, low: low), reader.offset - start)
    }
}
