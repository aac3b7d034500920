import Ledger
import Projections

/// Integrity (`/integrity`): the log as it stood at a time — its head, the checkpoint of that tree
/// (signed by the server for the page), the witnesses and what they had cosigned, the last
/// `ledgerctl verify` and `ledgerctl rebuild` that had finished by then, and the number of erasures.
///
/// The checkpoint's signature is made by this server with the ledger's own key as the page is
/// made, so checking it here would prove nothing: the page shows the key, for a reader to compare
/// with the one the ledger's operator published, and what was checked independently — the runs of
/// `verify` and `rebuild` and the witnesses' cosignatures.
package struct IntegrityPage: Sendable, Equatable {
    /// A witness the catalogue lists.
    package struct Witness: Sendable, Equatable {
        /// Its name.
        package var name: String
        /// Its note verifier key (`name+keyID+key`).
        package var verifierKey: String
        /// The largest tree size it had cosigned by the page's time, if the newest cosignature
        /// stored is from by then.
        package var latestTreeSize: UInt64?
        /// When it cosigned that tree size.
        package var latestTime: Timestamp?
        /// Whether its newest cosignature came after the page's time (the page then shows none).
        package var cosignedLater: Bool
    }

    /// The time the page shows.
    package var asOf: Timestamp
    /// The checkpoint of the events recorded by then: its tree size is the head's seq, its head
    /// hash and time the head's.
    package var checkpoint: Checkpoint
    /// Every witness of the catalogue, in its order.
    package var witnesses: [Witness]
    /// Subjects erased by then.
    package var erasures: Int
    /// The last run of each check (`verify`, `rebuild`) that had finished by then.
    package var checks: [Check]

    /// What the integrity status file says of one check at the page's time.
    package struct Check: Sendable, Equatable {
        /// Which check.
        package var check: IntegrityRun.Check
        /// Its last run that had finished by then, if any.
        package var last: IntegrityRun?
        /// Whether runs are recorded only after then.
        package var ranLater: Bool
        /// The code of the error met reading the status file, if it could not be read.
        package var unreadable: String?
    }

    /// The page for `checkpoint` (of the tree as of `asOf`), the witnesses' newest cosignatures,
    /// the erasure count and the recorded runs of the checks (`runs`: the status file's, or the
    /// error reading it).
    package init(
        checkpoint: Checkpoint,
        witnesses: [Ledger.WitnessStatus],
        erasures: Int,
        runs: Result<[IntegrityRun], LedgerError> = .success([]),
        asOf: Timestamp
    ) {
        self.asOf = asOf
        self.checkpoint = checkpoint
        self.erasures = erasures
        checks = IntegrityRun.Check.allCases.map { check in
            switch runs {
            case .failure(let error):
                return Check(check: check, last: nil, ranLater: false, unreadable: error.code.rawValue)
            case .success(let runs):
                let all = runs.filter { $0.check == check }
                let byThen = all.filter { $0.finishedAt <= asOf }.max { $0.finishedAt < $1.finishedAt }
                return Check(check: check, last: byThen, ranLater: byThen == nil && !all.isEmpty, unreadable: nil)
            }
        }
        self.witnesses = witnesses.map { status in
            let time = status.latestTime.map { Timestamp(milliseconds: Int64(clamping: $0) &* 1000) }
            let byThen =
                (status.latestTreeSize.map { $0 <= checkpoint.treeSize } ?? false) && (time.map { $0 <= asOf } ?? false)
            return Witness(
                name: status.witness.name,
                verifierKey: status.witness.verifierKey,
                latestTreeSize: byThen ? status.latestTreeSize : nil,
                latestTime: byThen ? time : nil,
                cosignedLater: status.latestTreeSize != nil && !byThen
            )
        }
    }

    /// Reads the page at `asOf` from `ledger`, whose fold of the events recorded by then is `fold`:
    /// the checkpoint of that tree, the witnesses' cosignatures and the integrity status file are
    /// read afresh (they change without the log changing).
    package static func load(from ledger: Ledger, fold: LedgerFold, asOf: Timestamp) throws -> IntegrityPage {
        let runs: Result<[IntegrityRun], LedgerError>
        do {
            runs = .success(try ledger.integrityRuns())
        } catch let error as LedgerError {
            // A damaged status file is shown as such; the rest of the page stands.
            runs = .failure(error)
        }
        return IntegrityPage(
            checkpoint: try ledger.checkpoint(treeSize: fold.throughSeq),
            witnesses: try ledger.witnessStatuses(),
            erasures: fold.projection.subjects.values.count { $0.erasure != nil },
            runs: runs,
            asOf: asOf
        )
    }

    /// Reads the page from `ledger` as of `asOf`, folding the log up to then.
    /// - Warning: Folds the log: call it off the request threads.
    package static func load(from ledger: Ledger, asOf: Timestamp) throws -> IntegrityPage {
        try load(from: ledger, fold: try LedgerFold.read(from: ledger, asOf: asOf), asOf: asOf)
    }
}
