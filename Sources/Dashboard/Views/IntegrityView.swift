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
    let witnesses: [Witness]
    let noWitnesses: Bool
    let witnessesCSVHref: String
    let erasures: Int
    let erasuresHref: String
    let checks: [Check]

    /// The last run of `verify` or `rebuild` by the page's time.
    struct Check: Sendable {
        /// `ledgerctl verify`.
        let command: String
        /// `OK`, `FAILED: hash_mismatch at seq 12`, or why there is none.
        let result: String
        /// `ok`, `bad` or `none`: the CSS class of the result.
        let tone: String
        /// `head seq 2269; started 2025-06-30 12:00 UTC, took 1.2 s`; `nil` without a run.
        let details: String?
    }

    init(_ page: IntegrityPage, asOf: AsOf) {
        let checkpoint = page.checkpoint
        ledgerId = checkpoint.ledgerId
        treeSize = checkpoint.treeSize
        headHash = Hex.encode(checkpoint.headHash)
        headRecordedAt = checkpoint.recordedAt.map(Display.dateTime) ?? "no event yet"
        rootHash = Hex.encode(checkpoint.rootHash)
        publicKey = Hex.encode(checkpoint.publicKey)
        noteVerifierKey = checkpoint.noteVerifierKey
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
        witnessesCSVHref = "/witnesses.csv" + asOf.query
        erasures = page.erasures
        erasuresHref = "/erasures" + asOf.query
        checks = page.checks.map(Self.check)
    }

    private static func check(_ check: IntegrityPage.Check) -> Check {
        let command = "ledgerctl " + check.check.rawValue
        if let code = check.unreadable {
            return Check(
                command: command,
                result: "the status file could not be read (\(code))",
                tone: "bad",
                details: nil
            )
        }
        guard let run = check.last else {
            let why = check.ranLater ? "none by then (the runs recorded are later)" : "none recorded"
            return Check(command: command, result: why, tone: "none", details: nil)
        }
        var result = run.ok ? "OK" : "FAILED: " + (run.code ?? "mismatch")
        if let seq = run.failedSeq { result += " at seq \(seq)" }
        if run.repaired { result += " (after --repair)" }
        let details =
            "head seq \(run.headSeq); started \(Display.dateTime(run.startedAt)), took "
            + Display.duration(milliseconds: run.milliseconds)
        return Check(command: command, result: result, tone: run.ok ? "ok" : "bad", details: details)
    }
}
