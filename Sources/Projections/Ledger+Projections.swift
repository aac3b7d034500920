import Ledger

extension Ledger {
    /// The projection rules of the ledger's current catalogue.
    public func projectionRules() throws -> ProjectionRules { ProjectionRules(catalogue: try catalogue()) }

    /// The whole ledger's projection as of `time` (SPEC §5: only events with `recordedAt ≤ time`),
    /// from the nearest stored snapshot and the events after it.
    public func projection(asOf time: Timestamp) throws -> LedgerProjection {
        try projection(through: try prefixLength(asOf: time), rules: try projectionRules())
    }

    /// The projection of the first `length` events, from the nearest stored snapshot.
    public func projection(through length: UInt64, rules: ProjectionRules) throws -> LedgerProjection {
        var projection = LedgerProjection()
        if let stored = try snapshot(atOrBefore: length) {
            guard let decoded = LedgerProjection(snapshot: stored.bytes) else {
                throw LedgerError(
                    .ledgerCorrupt,
                    "the projection snapshot at seq \(stored.seq) cannot be decoded; run `ledgerctl rebuild --repair`"
                )
            }
            projection = decoded
        }
        try forEachSummary(from: projection.throughSeq + 1, through: length) { projection.apply($0, rules: rules) }
        return projection
    }

    /// The catalogue's purposes with the number of (subject, purpose) pairs in each status as of
    /// `time` (SPEC §5 "Purposes"): the same counts as
    /// `projection(asOf: time).purposeCounts(at: time, …)`, from the nearest stored snapshot's
    /// bytes and the events after it, without decoding every subject (``SnapshotSplicer``).
    public func purposeCounts(asOf time: Timestamp) throws -> [PurposeCount] {
        let catalogue = try catalogue()
        let rules = ProjectionRules(catalogue: catalogue)
        let length = try prefixLength(asOf: time)
        var fold = SnapshotSplicer()
        if let stored = try snapshot(atOrBefore: length) {
            guard let continued = SnapshotSplicer(snapshot: stored.bytes), continued.throughSeq == stored.seq else {
                throw LedgerError(
                    .ledgerCorrupt,
                    "the projection snapshot at seq \(stored.seq) cannot be decoded; run `ledgerctl rebuild --repair`"
                )
            }
            fold = continued
        }
        try forEachSummary(from: fold.throughSeq + 1, through: length) { try fold.apply($0, rules: rules) }
        return try fold.purposeCounts(at: time, catalogue: catalogue)
    }

    /// One subject's projection as of `time`, read through the per-subject index only.
    public func subjectProjection(pseudonym: String, asOf time: Timestamp) throws -> SubjectProjection {
        try subjectProjection(pseudonym: pseudonym, asOf: time, atMost: .max) ?? SubjectProjection()
    }

    /// One subject's projection as of `time`, or `nil`, having read none of its events, when the
    /// subject has more than `limit` (the server reads those off its request threads).
    public func subjectProjection(
        pseudonym: String,
        asOf time: Timestamp,
        atMost limit: Int
    ) throws -> SubjectProjection? {
        guard let summaries = try subjectSummaries(pseudonym: pseudonym, asOf: time, atMost: limit) else { return nil }
        var subject = SubjectProjection()
        for summary in summaries { subject.apply(summary) }
        return subject
    }
}

/// The projection an export file alone gives (SPEC §5, issue "from an export alone"): the chain is
/// verified line by line on the way, with no ledger and no key.
public enum ExportProjection {
    /// Folds the export's events recorded at or before `time`, verifying every line.
    /// - Returns: The projection and the verification report of the whole file.
    public static func fold(
        path: String,
        asOf time: Timestamp,
        rules: ProjectionRules
    ) throws
        -> (projection: LedgerProjection, report: VerificationReport)
    {
        var projection = LedgerProjection()
        let report = try ExportVerifier.verify(path: path) { event in
            if event.recordedAt <= time { projection.apply(event, rules: rules) }
        }
        return (projection, report)
    }
}
