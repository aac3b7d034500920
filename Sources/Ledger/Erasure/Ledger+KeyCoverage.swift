import Foundation

extension Ledger {
    /// The first subject of the log that is neither erased nor holds a key in the key store — an
    /// acknowledged subject whose data can no longer be decrypted — or `nil` when every subject
    /// is accounted for. Needs no master key: it compares pseudonyms only.
    ///
    /// The log's subjects come from the per-subject index (both levels); the key store's from its
    /// `subjects` table, read after the log, so a subject created meanwhile is found in it too
    /// (keys commit before the events that use them), and erasures are read once more after it.
    func firstSubjectWithoutKey() throws -> VerificationReport.Failure? {
        var firstSeq: [Pseudonym: UInt64] = [:]
        var erased: Set<Pseudonym> = []
        try storage {
            try events.read { txn in
                var last: Pseudonym?
                try txn.forEach(in: events.table(EventsSchema.subjectEvents)) { key, _ in
                    guard key.count == 24,
                        let pseudonym = Pseudonym(stored: UnsafeRawBufferPointer(rebasing: key[0..<16]))
                    else { return true }
                    if pseudonym != last, firstSeq[pseudonym] == nil {
                        firstSeq[pseudonym] = EventsSchema.seq(fromKey: UnsafeRawBufferPointer(rebasing: key[16..<24]))
                    }
                    last = pseudonym
                    return true
                }
                try txn.forEach(in: events.table(EventsSchema.recentSubjectEvents)) { key, value in
                    guard key.count == 9, let pseudonym = Pseudonym(stored: value),
                        let seq = EventsSchema.seq(fromKey: UnsafeRawBufferPointer(rebasing: key[1..<9]))
                    else { return true }
                    firstSeq[pseudonym] = min(firstSeq[pseudonym] ?? seq, seq)
                    return true
                }
                try txn.forEach(in: events.table(EventsSchema.erased)) { key, _ in
                    if let pseudonym = Pseudonym(stored: key) { erased.insert(pseudonym) }
                    return true
                }
            }
        }
        var withKey: Set<Pseudonym> = []
        withKey.reserveCapacity(firstSeq.count)
        try storage {
            try keyStore.withEnvironment { keys in
                try keys.read { txn in
                    try txn.forEach(in: keys.table("subjects")) { key, _ in
                        if let pseudonym = Pseudonym(stored: key) { withKey.insert(pseudonym) }
                        return true
                    }
                }
            }
        }
        var lost = firstSeq.filter { !erased.contains($0.key) && !withKey.contains($0.key) }
        if !lost.isEmpty {
            // An erasure may have committed between the two reads: its event commits before its
            // key goes, so reading the erasures again now sees every key that went that way.
            let erasedMeanwhile = try storage {
                try events.read { txn in try lost.keys.filter { try isErased($0.bytes, in: txn) } }
            }
            for pseudonym in erasedMeanwhile { lost.removeValue(forKey: pseudonym) }
        }
        guard let first = lost.min(by: { $0.value < $1.value }) else { return nil }
        return .init(
            seq: first.value,
            code: .subjectKeyMissing,
            reason:
                "subject \(first.key.hex) has events but neither a key nor an erasure: the key store lost \(lost.count == 1 ? "its key" : "the keys of \(lost.count) subjects"); restore keys/ from a backup"
        )
    }
}
