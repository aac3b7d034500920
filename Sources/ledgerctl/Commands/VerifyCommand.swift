import ArgumentParser
import Foundation
import Ledger
import Projections

/// `ledgerctl verify [--export FILE]`.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recompute the whole hash chain and report the first bad seq.",
        discussion: """
            Without --export, verifies the ledger's log: every event's hash recomputed from its \
            stored bytes, every link to the previous event, no gaps, and the recorded head.

            With --export FILE, verifies an export file alone: no ledger and no key needed.

            With --proof FILE, checks a proof bundle or erasure receipt (`ledgerctl prove`, \
            `ledgerctl erase --receipt`) offline: no ledger needed.

            With --receipt FILE, checks a consent receipt (`ledgerctl receipt`) offline: the \
            checkpoint's signature, the export record's hash, the inclusion proof, the receipt \
            signature, and that the record's event fields match the event.

            With --checkpoint FILE, proves that the log extends a checkpoint printed earlier by \
            `ledgerctl checkpoint`, as JSON or as a signed note (signature, ledger, size, head, \
            RFC 9162 consistency proof); add --full to recompute the whole chain as well. With \
            --cosignatures N the note must carry valid cosignatures of N distinct witnesses: those \
            the catalogue lists, or those given with --witness-key (which replace the catalogue's).

            Verifying the ledger's log records the outcome (result, head, time, duration; codes \
            only) in <ledger>/integrity-status.json, which the dashboard's integrity page shows.

            Exits 0 when everything verifies, 1 when anything does not.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("An export file to verify instead of the ledger.", valueName: "file"))
    var export: String?

    @Option(name: .long, help: ArgumentHelp("A checkpoint the log must extend.", valueName: "file"))
    var checkpoint: String?

    @Flag(name: .long, help: "With --checkpoint: also recompute the whole chain.") var full = false

    @Option(name: .long, help: "With --checkpoint: the witness cosignatures the note must carry.")
    var cosignatures: Int = 0

    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --cosignatures: a witness's verifier key (repeat; default: the catalogue's).",
            valueName: "vkey"
        )
    )
    var witnessKey: [String] = []

    func validate() throws {
        guard cosignatures >= 0, cosignatures <= 100 else { throw ValidationError("--cosignatures is 0 to 100") }
        guard checkpoint != nil || (cosignatures == 0 && witnessKey.isEmpty) else {
            throw ValidationError("--cosignatures and --witness-key go with --checkpoint")
        }
        if let publicKey {
            guard proof != nil || receipt != nil else {
                throw ValidationError("--public-key goes with --proof or --receipt")
            }
            guard publicKey.count == 64, Hex.decode(publicKey) != nil else {
                throw ValidationError("--public-key is an Ed25519 public key: 64 hex digits")
            }
        }
    }

    @Option(name: .long, help: ArgumentHelp("A proof bundle or erasure receipt to check offline.", valueName: "file"))
    var proof: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --proof: the catalogue (default: bundled); with --receipt: check the record's notice against it.",
            valueName: "file"
        )
    )
    var policy: String?

    @Option(name: .long, help: ArgumentHelp("A consent receipt to check offline.", valueName: "file"))
    var receipt: String?

    @Option(
        name: .customLong("public-key"),
        help: ArgumentHelp(
            "With --proof or --receipt: the ledger's Ed25519 public key as its operator publishes it (64 hex digits); the file's checkpoint must be signed with it.",
            valueName: "hex"
        )
    )
    var publicKey: String?

    func run() throws {
        try runReporting(json: global.json) {
            if let receipt {
                try verifyReceipt(at: receipt)
                return
            }
            if let checkpoint {
                try verifyCheckpoint(at: checkpoint)
                return
            }
            if let proof {
                try verifyProof(at: proof)
                return
            }
            let report: VerificationReport
            if let export {
                report = try ExportVerifier.verify(path: export)
            } else {
                // The ledger's own chain: its outcome is recorded for the dashboard.
                let recorder = IntegrityRecorder(.verify, directory: global.directory)
                report = try recorder.recordingFailure {
                    let ledger = try global.openLedger(checkingPages: true)
                    let progress = Progress(label: "verify", total: try ledger.head().seq)
                    let report = try ledger.verify { progress.update($0) }
                    progress.finish()
                    return report
                }
                recorder.record(
                    ok: report.isValid,
                    code: report.failure?.code.rawValue,
                    failedSeq: report.failure?.seq,
                    headSeq: report.headSeq
                )
            }
            if global.json {
                Output.line(report.json.serialized)
            } else if let failure = report.failure {
                Output.line("FAILED at seq \(failure.seq): \(failure.reason)")
                Output.line("\(report.events) events before it verify.")
            } else {
                Output.line("OK: \(report.events) events verify; head seq \(report.headSeq) hash \(report.headHash)")
            }
            if !report.isValid { throw CommandFailure(exitCode: 1) }
        }
    }

    private func verifyCheckpoint(at path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LedgerError(.unreadableInput, "cannot read the checkpoint file \(path)")
        }
        let ledger = try global.openLedger(checkingPages: full)
        let failed: VerificationReport.Failure?
        let treeSize: UInt64
        if data.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) == UInt8(ascii: "{") {
            let checkpoint = try Checkpoint(json: Array(data))
            treeSize = checkpoint.treeSize
            failed =
                cosignatures > 0
                ? VerificationReport.Failure(
                    seq: checkpoint.treeSize,
                    code: .checkpointMismatch,
                    reason:
                        "a JSON checkpoint carries no cosignatures: give the signed note (`checkpoint --format note`)"
                )
                : try CheckpointVerifier.failure(of: checkpoint, against: ledger, full: full)
        } else {
            guard let text = String(validating: data, as: UTF8.self) else {
                throw LedgerError(.invalidField, "a checkpoint is JSON or a signed note (UTF-8 text)")
            }
            let note = try SignedNote(parsing: text)
            treeSize = try CheckpointNoteBody(parsing: note.text).treeSize
            let witnesses =
                witnessKey.isEmpty
                ? try ledger.catalogue().witnesses : try witnessKey.map(WitnessKey.init(verifierKey:))
            guard Set(witnesses.map(\.publicKey)).count == witnesses.count else {
                throw LedgerError(.invalidField, "--witness-key gives one key twice: each witness counts once")
            }
            failed = try CheckpointVerifier.failure(
                ofNote: note,
                against: ledger,
                full: full,
                witnesses: witnesses,
                requiredCosignatures: cosignatures
            )
        }
        // A chain failure names its seq; a checkpoint's own names the checkpoint.
        let failure = failed.map { $0.code == .checkpointMismatch ? $0.reason : "seq \($0.seq): \($0.reason)" }
        if global.json {
            var pairs: [(String, JSONValue)] = [
                ("ok", .bool(failure == nil)), ("treeSize", .int(Int64(treeSize))),
            ]
            if let failed { pairs.append(("code", .string(failed.code.rawValue))) }
            if let failure { pairs.append(("reason", .string(failure))) }
            Output.line(JSONValue.object(pairs).serialized)
        } else if let failure {
            Output.line("FAILED: \(failure)")
        } else {
            Output.line(
                "OK: the log extends the checkpoint of \(treeSize) events (consistency proof verified"
                    + (cosignatures > 0 ? "; \(cosignatures) or more witnesses cosigned it)" : ")")
            )
        }
        if failure != nil { throw CommandFailure(exitCode: 1) }
    }

    private func verifyReceipt(at path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LedgerError(.unreadableInput, "cannot read the receipt file \(path)")
        }
        let failure = ConsentReceipt.failure(
            ofJSON: Array(data),
            catalogue: try policy.map { try loadCatalogue($0) }
        )
        try reportOfflineCheck(
            of: data,
            failure: failure,
            success: "OK: the event is in the log of the checkpoint and the signed record describes it"
        )
    }

    private func verifyProof(at path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LedgerError(.unreadableInput, "cannot read the proof file \(path)")
        }
        let rules = ProjectionRules(catalogue: try loadCatalogue(policy))
        try reportOfflineCheck(
            of: data,
            failure: ProofBundle.failure(ofJSON: Array(data), rules: rules),
            success: "OK: every event is in the log of the checkpoint and the stated result holds"
        )
    }

    /// Prints the outcome of checking a file offline (a proof bundle, an erasure or consent
    /// receipt): `failure`, or `success` with the checkpoint's ledger and key to compare; exit 1
    /// on a failure.
    private func reportOfflineCheck(of data: Data, failure checked: String?, success: String) throws {
        let checkpoint = JSONValue.parse(Array(data))?["checkpoint"]
        let signingKey = checkpoint?["publicKey"]?.stringValue
        var failure = checked
        if failure == nil, let publicKey, signingKey?.lowercased() != publicKey.lowercased() {
            // The file's own checks hold, but for a key the operator did not publish: anyone can
            // sign a consistent file with a key of their own.
            failure = "the checkpoint is signed with key \(signingKey ?? "(none)"), not the public key given"
        }
        if global.json {
            var pairs: [(String, JSONValue)] = [("ok", .bool(failure == nil))]
            if let failure { pairs.append(("reason", .string(failure))) }
            Output.line(JSONValue.object(pairs).serialized)
        } else if let failure {
            Output.line("FAILED: \(failure)")
        } else {
            Output.line(success)
            Output.line(
                "  ledger \(checkpoint?["ledgerId"]?.stringValue ?? "?"), signing key \(signingKey ?? "?")"
            )
            Output.line(
                publicKey == nil
                    ? "  compare the key with the one the ledger's operator publishes (or give it with --public-key)"
                    : "  signed with the public key given"
            )
        }
        if failure != nil { throw CommandFailure(exitCode: 1) }
    }
}
