import Ledger

/// Folds on from a snapshot's bytes to the next snapshot without decoding every subject: only the
/// subjects the events touch are decoded (from their records in the previous snapshot) and encoded
/// again; every other record is copied as it stands.
///
/// At a million subjects a snapshot holds every subject, yet an interval of 100,000 events touches
/// at most a tenth of them. Decoding all of them into a dictionary, folding into it and encoding
/// all of them again was most of what an append crossing a boundary cost (and kept the server's
/// background catch-up busy): this copies the untouched records instead.
///
/// The fold is ``LedgerProjection/apply(_:rules:)`` itself, run on a projection that holds the
/// subjects touched since the last snapshot and every request, so the rule is written once. The
/// bytes equal ``LedgerProjection/snapshot`` of the whole fold: the subject records are in
/// pseudonym order and each depends on its own subject alone, which is what
/// ``SnapshotComparison`` relies on too (`SnapshotSplicerTests` checks it at every boundary of
/// random logs).
struct SnapshotSplicer: Sendable {
    /// The snapshot the fold continues from.
    private var previous: [UInt8]
    /// The pseudonyms of `previous`'s subject records, ascending.
    private var ids: [Pseudonym]
    /// Where each record of `previous` starts; one more entry than `ids`, where the requests start.
    private var offsets: [Int]
    /// The storage of the snapshot before `previous` and of its ids and offsets, written over by
    /// the next ``snapshot()`` (see ``ByteWriter/init(reusing:capacity:)``); as large as a
    /// snapshot, so a fold kept for long gives it up (``releaseSpare()``).
    private var spare: (bytes: [UInt8], ids: [Pseudonym], offsets: [Int]) = ([], [], [])
    /// The subjects touched since `previous` (as they stand now), every request, and the seq.
    private var projection = LedgerProjection()
    /// How the snapshot ``snapshot()`` made last is made of the one before it: the runs of records
    /// it copied and the bytes it wrote (empty before the first).
    private(set) var piecesOfLastSnapshot: [SnapshotDelta.Piece] = []

    /// Continues from the stored snapshot `bytes`; `nil` when they are not a snapshot.
    init?(snapshot bytes: [UInt8]) {
        let parsed: (ids: [Pseudonym], offsets: [Int], through: UInt64, requests: [String: RequestProjection])? =
            bytes.withUnsafeBytes { raw in
                var reader = ByteReader(raw)
                guard let (through, count) = LedgerProjection.readHeader(&reader) else { return nil }
                var ids: [Pseudonym] = []
                var offsets: [Int] = []
                ids.reserveCapacity(Int(count))
                offsets.reserveCapacity(Int(count) + 1)
                for _ in 0..<count {
                    let start = reader.offset
                    // Strictly ascending, or a lookup by binary search would miss records.
                    guard let (id, _) = SubjectRecords.next(&reader), ids.last.map({ $0 < id }) ?? true else {
                        return nil
                    }
                    ids.append(id)
                    offsets.append(start)
                }
                offsets.append(reader.offset)
                guard let requests = LedgerProjection.readRequests(&reader), reader.isAtEnd else { return nil }
                return (ids, offsets, through, requests)
            }
        guard let parsed else { return nil }
        previous = bytes
        ids = parsed.ids
        offsets = parsed.offsets
        projection.throughSeq = parsed.through
        projection.requests = parsed.requests
    }

    /// Starts from the empty ledger.
    init() {
        var empty = ByteWriter(capacity: 32)
        LedgerProjection.writeHeader(throughSeq: 0, subjectCount: 0, into: &empty)
        let requestsStart = empty.bytes.count
        LedgerProjection.write(requests: [:], into: &empty)
        previous = empty.bytes
        ids = []
        offsets = [requestsStart]
    }

    /// The seq of the last event folded in.
    var throughSeq: UInt64 { projection.throughSeq }

    /// Frees the storage kept for the next snapshot (which then writes into a fresh buffer).
    mutating func releaseSpare() { spare = ([], [], []) }

    /// Folds in the next event of the log.
    /// - Throws: `ledger_corrupt` when the subject's record in the previous snapshot does not decode.
    mutating func apply(_ event: EventSummary, rules: ProjectionRules) throws {
        // A subject of the previous snapshot joins the touched ones as it stood there; one it does
        // not hold is created by the fold itself, exactly when the fold creates one.
        if projection.subjects[event.subject] == nil, let index = position(of: event.subject) {
            let record = previous.withUnsafeBytes { raw -> SubjectProjection? in
                var reader = ByteReader(UnsafeRawBufferPointer(rebasing: raw[offsets[index]..<offsets[index + 1]]))
                guard let (_, subject) = LedgerProjection.readSubject(&reader), reader.isAtEnd else { return nil }
                return subject
            }
            guard let record else { throw Self.corruptRecord }
            projection.subjects[event.subject] = record
        }
        projection.apply(event, rules: rules)
    }

    private static let corruptRecord = LedgerError(
        .ledgerCorrupt,
        "a subject record of the projection snapshot cannot be decoded; run `ledgerctl rebuild --repair`"
    )

    /// The snapshot of everything folded so far, which the next one continues from.
    mutating func snapshot() -> [UInt8] {
        let touched = projection.subjects.keys.sorted()
        let added = touched.reduce(0) { $0 + (position(of: $1) == nil ? 1 : 0) }
        let count = ids.count + added
        // Moved out of `spare` first, so the storage is referenced once and written in place.
        var (spareBytes, newIds, newOffsets) = spare
        spare = ([], [], [])
        let needed = previous.count + added * 64 + 64
        // A fresh buffer gets an eighth more, so the snapshot after next, a little longer, fits.
        let capacity = spareBytes.capacity >= needed ? needed : needed + needed / 8
        var writer = ByteWriter(reusing: consume spareBytes, capacity: capacity)
        newIds.removeAll(keepingCapacity: true)
        newOffsets.removeAll(keepingCapacity: true)
        LedgerProjection.writeHeader(throughSeq: projection.throughSeq, subjectCount: count, into: &writer)
        newIds.reserveCapacity(count)
        newOffsets.reserveCapacity(count + 1)
        var pieces: [SnapshotDelta.Piece] = [.own(count: writer.bytes.count)]
        previous.withUnsafeBytes { old in
            var next = touched.startIndex  // the first touched subject not yet written
            /// The untouched records of `previous` not yet copied start here.
            var copyFrom = 0
            /// Copies `previous`'s records `copyFrom..<end` in one piece.
            func copyUntouched(through end: Int) {
                guard copyFrom < end else { return }
                let base = writer.bytes.count - offsets[copyFrom]
                for index in copyFrom..<end {
                    newIds.append(ids[index])
                    newOffsets.append(offsets[index] + base)
                }
                writer.write(UnsafeRawBufferPointer(rebasing: old[offsets[copyFrom]..<offsets[end]]))
                pieces.append(.earlier(offset: offsets[copyFrom], count: offsets[end] - offsets[copyFrom]))
                copyFrom = end
            }
            func writeTouched(_ id: Pseudonym) {
                guard let subject = projection.subjects[id] else { return }
                newIds.append(id)
                let start = writer.bytes.count
                newOffsets.append(start)
                LedgerProjection.write(subject: id, subject, into: &writer)
                pieces.append(.own(count: writer.bytes.count - start))
            }
            while next < touched.endIndex {
                let id = touched[next]
                next += 1
                if let index = position(of: id) {
                    copyUntouched(through: index)
                    writeTouched(id)
                    copyFrom = index + 1
                } else {
                    // A new subject: the untouched records below it first.
                    copyUntouched(through: insertionPoint(of: id))
                    writeTouched(id)
                }
            }
            copyUntouched(through: ids.count)
        }
        let requestsStart = writer.bytes.count
        newOffsets.append(requestsStart)
        LedgerProjection.write(requests: projection.requests, into: &writer)
        pieces.append(.own(count: writer.bytes.count - requestsStart))
        piecesOfLastSnapshot = pieces
        spare = (previous, ids, offsets)
        previous = writer.bytes
        ids = newIds
        offsets = newOffsets
        projection.subjects = [:]
        return previous
    }

    /// The catalogue's purposes with their counts at `time` of everything folded so far: the
    /// touched subjects from the fold, every other one straight from its record, with no
    /// dictionary per subject (at a million subjects, decoding them all was most of the cost of a
    /// count as of a date).
    /// - Throws: `ledger_corrupt` when a record does not decode.
    func purposeCounts(at time: Timestamp, catalogue: Catalogue) throws -> [PurposeCount] {
        var tally = PurposeTally(at: time, rules: ProjectionRules(catalogue: catalogue))
        for subject in projection.subjects.values { subject.tally(into: &tally) }
        // The touched subjects in pseudonym order, walked in step with the records: no lookup each.
        let touched = projection.subjects.keys.sorted()
        var nextTouched = touched.startIndex
        let readable = previous.withUnsafeBytes { raw in
            for index in ids.indices {
                let id = ids[index]
                while nextTouched < touched.endIndex, touched[nextTouched] < id { nextTouched += 1 }
                if nextTouched < touched.endIndex, touched[nextTouched] == id { continue }
                var reader = ByteReader(UnsafeRawBufferPointer(rebasing: raw[offsets[index]..<offsets[index + 1]]))
                let read = LedgerProjection.readSubject(&reader) { purpose, decision, erased in
                    tally.add(decision, purpose: purpose, erased: erased)
                }
                guard read != nil, reader.isAtEnd else { return false }
            }
            return true
        }
        guard readable else { throw Self.corruptRecord }
        return tally.counts(catalogue: catalogue)
    }

    /// The index of `id`'s record in `previous`, if it has one.
    private func position(of id: Pseudonym) -> Int? {
        let index = insertionPoint(of: id)
        return index < ids.count && ids[index] == id ? index : nil
    }

    /// The index of the first record of `previous` whose pseudonym is not below `id`.
    private func insertionPoint(of id: Pseudonym) -> Int {
        var low = 0
        var high = ids.count
        while low < high {
            let middle = (low + high) / 2
            if ids[middle] < id { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
