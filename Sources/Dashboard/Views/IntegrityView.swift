import Ledger

/// The integrity page as the `integrity` template draws it.
struct IntegrityView: Sendable {
    struct Witness: Sendable {
        let name: String
        let verifierKey: String
        /// `tree size 1,234 at 2025-06-30 12:00 UTC`, or why there is none.
        let latest: String
    }

    let ledgerId: String
    let treeSize: UInt64
    let headHash: String
    let headRecordedAt: String
    let rootHash: String
    let publicKey: String
    let noteVerifierKey: String
    let signatureValid: Bool
    let witnesses: [Witness]
    let noWitnesses: Bool
    let erasures: Int

    init(_ page: IntegrityPage) {
        let checkpoint = page.checkpoint
        ledgerId = checkpoint.ledgerId
        treeSize = checkpoint.treeSize
        headHash = Hex.encode(checkpoint.headHash)
        headRecordedAt = checkpoint.recordedAt.map(Display.dateTime) ?? "no event yet"
        rootHash = Hex.encode(checkpoint.rootHash)
        publicKey = Hex.encode(checkpoint.publicKey)
        noteVerifierKey = checkpoint.noteVerifierKey
        signatureValid = page.signatureValid
        witnesses = page.witnesses.map { witness in
            let latest: String
            if let size = witness.latestTreeSize, let time = witness.latestTime {
                latest = "tree size \(size), cosigned at \(Display.dateTime(time))"
            } else if witness.cosignedLater {
                latest = "none by then (its cosignatures stored are of later trees)"
            } else {
                latest = "none stored"
            }
            return Witness(name: witness.name, verifierKey: witness.verifierKey, latest: latest)
        }
        noWitnesses = page.witnesses.isEmpty
        erasures = page.erasures
    }
}
