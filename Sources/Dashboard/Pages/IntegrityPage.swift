import Ledger
import Projections

/// Integrity (`/integrity`): the log as it stood at a time — its head, the signed checkpoint of
/// that tree, the witnesses and what they had cosigned, and the number of erasures.
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
    /// Whether the checkpoint's signature verifies under its key.
    package var signatureValid: Bool
    /// Every witness of the catalogue, in its order.
    package var witnesses: [Witness]
    /// Subjects erased by then.
    package var erasures: Int

    /// The page for `checkpoint` (of the tree as of `asOf`), the witnesses' newest cosignatures and
    /// the erasure count.
    package init(
        checkpoint: Checkpoint,
        witnesses: [Ledger.WitnessStatus],
        erasures: Int,
        asOf: Timestamp
    ) {
        self.asOf = asOf
        self.checkpoint = checkpoint
        signatureValid = checkpoint.hasValidSignature
        self.erasures = erasures
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

    /// Reads the page from `ledger` as of `asOf`.
    /// - Warning: Folds the whole projection (for the erasures): call it off the request threads.
    package static func load(from ledger: Ledger, asOf: Timestamp) throws -> IntegrityPage {
        let length = try ledger.prefixLength(asOf: asOf)
        let erasures = try ledger.projection(through: length, rules: try ledger.projectionRules()).subjects.values
            .count { $0.erasure != nil }
        return IntegrityPage(
            checkpoint: try ledger.checkpoint(treeSize: length),
            witnesses: try ledger.witnessStatuses(),
            erasures: erasures,
            asOf: asOf
        )
    }
}
