/// The tables of the `events/` environment (SPEC §3) and the keys of its `meta` table.
///
/// - `log`: u64 seq (big-endian) → `hash(32) ‖ body` (``StoredEvent/record``)
/// - `eventIds`: 16-byte event UUID → u64 seq (idempotency compares by decrypting the original)
/// - `subjectEvents`, `recentSubjectEvents`: the per-subject index, in two levels (``SubjectIndex``)
/// - `requests`: 16-byte request UUID → ``RequestRecord``
/// - `erased`: pseudonym → u64 seq of its `erasure.completed`
/// - `pendingErasures`: pseudonym → u64 seq, while the key deletion of an erasure is outstanding
/// - `snapshots`: u64 seq ‖ u32 chunk → a projection snapshot of the log's first seq events, in
///   chunks with a manifest (``SnapshotStore``)
/// - `merkle`: u64 index of the last leaf covered ‖ level(1) → the hash of that perfect subtree of
///   the RFC 9162 tree (``MerkleStore/key(_:_:)``)
/// - `cosignatures`: u64 tree size ‖ witness key ID ‖ witness name → u64 time ‖ Ed25519 signature
///   (a witness's tlog-cosignature/v1 on the checkpoint of that size, ``Ledger/addCosignatures(_:)``)
/// - `notices`: purpose id ‖ 0x00 ‖ version → SHA-256 of the notice text (every version ever loaded)
/// - `meta`: see ``MetaKey``
enum EventsSchema {
    static let log = "log"
    static let eventIds = "eventIds"
    static let subjectEvents = "subjectEvents"
    static let recentSubjectEvents = "recentSubjectEvents"
    static let requests = "requests"
    static let erased = "erased"
    static let pendingErasures = "pendingErasures"
    static let notices = "notices"
    static let snapshots = "snapshots"
    static let merkle = "merkle"
    static let cosignatures = "cosignatures"
    static let meta = "meta"

    static let tableNames = [
        log, eventIds, subjectEvents, recentSubjectEvents, requests, erased, pendingErasures, notices, snapshots,
        merkle, cosignatures, meta,
    ]

    /// The on-disk format this code writes and reads. 2: Merkle nodes keyed by their last leaf.
    /// 3: projection snapshots may be stored as deltas (``SnapshotDelta``), which a build of
    /// format 2 cannot read; a format-2 ledger is one of format 3 whose snapshots are all whole.
    /// 4: the recent level of the per-subject index has 256 buckets (``SubjectIndex``), not 64; a
    /// format-3 ledger becomes one at its first open by merging its recent level.
    static let formatVersion: UInt64 = 4

    enum MetaKey {
        static let format = Array("format".utf8)
        static let ledgerId = Array("ledgerId".utf8)
        static let head = Array("head".utf8)
        static let catalogue = Array("catalogue".utf8)
        static let catalogueGeneration = Array("catalogueGeneration".utf8)
        static let snapshotInterval = Array("snapshotInterval".utf8)
        static let merkleSize = Array("merkleSize".utf8)
        /// The key store's key check value, copied here so a key store of another ledger is refused.
        static let keyCheck = Array("keyCheck".utf8)
        /// Subjects created by committed appends (u64); the key store's own count never lags it.
        static let subjectsCreated = Array("subjectsCreated".utf8)
    }

    static func seqKey(_ seq: UInt64) -> [UInt8] {
        withUnsafeBytes(of: seq.bigEndian) { Array($0) }
    }

    static func seq(fromKey raw: UnsafeRawBufferPointer) -> UInt64? {
        guard raw.count == 8 else { return nil }
        var value: UInt64 = 0
        for byte in raw { value = value << 8 | UInt64(byte) }
        return value
    }
}
