import Crypto
import Foundation
import TestSupport
import Testing

@testable import Ledger

/// Witness cosignatures (C2SP tlog-cosignature/v1) on the ledger's checkpoint notes: a witness made
/// by code the project did not write (Go's crypto/ed25519, `tlogcheck -keygen` / `-cosign`)
/// cosigns, the ledger stores only the catalogue's witnesses' valid cosignatures on its own roots,
/// shows them with the note, and Go's `sumdb/note` opens the result; `verify --checkpoint`'s check
/// counts distinct valid cosignatures and refuses forged ones. Every refusal leaves nothing stored.
struct CosignatureTests {
    /// A ledger of `events` grants whose catalogue lists `witnesses` (verifier keys).
    private func ledger(in directory: TemporaryDirectory, events: Int = 5, witnesses: [String]) throws -> Ledger {
        let ledger = try Fixture.ledger(in: directory)
        try ledger.ensureSigningKey()
        if !witnesses.isEmpty {
            let source =
                try Catalogue.bundled().source + "\nwitnesses:\n" + witnesses.map { "  - \"\($0)\"\n" }.joined()
            try ledger.loadCatalogue(try Catalogue.parse(source))
        }
        _ = try ledger.append(try (0..<events).map { try Fixture.grant("w\($0)@example.no") }, actor: "t")
        return ledger
    }

    /// A witness made in Swift, for the refusals that need a signature Go would not make.
    private struct SwiftWitness {
        let key = Curve25519.Signing.PrivateKey()
        let witness: WitnessKey

        init(name: String) throws {
            witness = try WitnessKey(name: name, publicKey: Array(key.publicKey.rawRepresentation))
        }

        func cosign(_ note: SignedNote, time: UInt64 = 1_700_000_000) throws -> SignedNote {
            var cosigned = note
            cosigned.signatures.append(
                try Cosignature.sign(noteText: note.text, time: time, witness: witness, with: key).line
            )
            return cosigned
        }
    }

    private func tlogcheck(in scratch: TemporaryDirectory) throws -> String {
        let built = try VerifierTools.buildTlogcheck(into: scratch.path)
        try #require(built.status == 0, "tlogcheck did not build (scripts/install-test-deps): \(built.stderr)")
        return scratch.path + "/tlogcheck"
    }

    @Test func aCosignatureMadeByGoIsStoredShownAndOpenedByGo() throws {
        let scratch = TemporaryDirectory()
        let tlogcheck = try tlogcheck(in: scratch)
        let generated = try VerifierTools.run(tlogcheck, ["-keygen", "witness.example/w1"])
        let lines = generated.stdout.split(separator: "\n").map(String.init)
        try #require(generated.status == 0 && lines.count == 2, "\(generated.stdout)\(generated.stderr)")
        let (vkey, seed) = (lines[0], lines[1])
        let directory = TemporaryDirectory()
        let ledger = try ledger(in: directory, witnesses: [vkey])
        let logKey = try ledger.checkpoint().noteVerifierKey
        let note = try ledger.checkpointNote()
        let time = String(ledger.options.clock.now().milliseconds / 1000)
        let cosigned = try VerifierTools.run(
            tlogcheck,
            ["-cosign", "witness.example/w1", seed, logKey, time],
            input: note.serialized
        )
        try #require(cosigned.status == 0, "\(cosigned.stdout)")

        let receipt = try ledger.addCosignatures(try SignedNote(parsing: cosigned.stdout))
        #expect(receipt.treeSize == 5 && receipt.stored == ["witness.example/w1"] && receipt.ignored == 1)
        // More events: the head's note has no cosignature, the one of size 5 still has it.
        _ = try ledger.append([try Fixture.grant("later@example.no")], actor: "t")
        #expect(try ledger.checkpointNote().signatures.count == 1)
        #expect(try ledger.latestCosignedTreeSize() == 5)
        let shown = try ledger.checkpointNote(treeSize: 5)
        #expect(shown.serialized == cosigned.stdout)
        let opened = try VerifierTools.run(tlogcheck, ["-cosigned", logKey, vkey], input: shown.serialized)
        #expect(opened.status == 0 && opened.stdout.hasPrefix("OK consentledger/"), "\(opened.stdout)")
        #expect(opened.stdout.hasSuffix(" 1\n"))

        let witnesses = try ledger.catalogue().witnesses
        #expect(
            try CheckpointVerifier.failure(
                ofNote: shown,
                against: ledger,
                witnesses: witnesses,
                requiredCosignatures: 1
            )
                == nil
        )
        let twoRequired = try CheckpointVerifier.failure(
            ofNote: shown,
            against: ledger,
            witnesses: witnesses,
            requiredCosignatures: 2
        )
        #expect(twoRequired?.code == .checkpointMismatch)
        #expect(twoRequired?.reason.contains("1 of the 2") == true)
        let status = try ledger.witnessStatuses()
        #expect(status.map(\.latestTreeSize) == [5] && status.first?.latestTime == UInt64(time))

        // A forged cosignature (Go refuses it too) fails the check, whatever count is asked for.
        var forged = shown
        forged.signatures[1].bytes[20] ^= 1
        let goRefuses = try VerifierTools.run(tlogcheck, ["-cosigned", logKey, vkey], input: forged.serialized)
        #expect(goRefuses.status == 1 && goRefuses.stdout.hasPrefix("INVALID"))
        let refused = try CheckpointVerifier.failure(
            ofNote: forged,
            against: ledger,
            witnesses: witnesses,
            requiredCosignatures: 0
        )
        #expect(refused?.reason.contains("does not verify") == true)
    }

    @Test func onlyValidCosignaturesOfListedWitnessesOnThisLogsRootsAreStored() throws {
        let listed = try SwiftWitness(name: "witness.example/a")
        let unlisted = try SwiftWitness(name: "witness.example/b")
        let directory = TemporaryDirectory()
        let ledger = try ledger(in: directory, witnesses: [listed.witness.verifierKey])
        let note = try ledger.checkpointNote()
        let anotherLog = try SignedNote.sign(
            note.text.replacingOccurrences(of: "consentledger/", with: "consentledger/0"),
            name: "x",
            with: Curve25519.Signing.PrivateKey()
        )
        let now = UInt64(ledger.options.clock.now().milliseconds / 1000)

        var altered = try listed.cosign(note)
        altered.signatures[1].bytes[30] ^= 1
        var wrongLength = try listed.cosign(note)
        wrongLength.signatures[1].bytes.removeLast()
        let wrongRoot = try listed.cosign(
            try SignedNote.sign(
                note.text.replacingOccurrences(of: "\n5\n", with: "\n4\n"),
                name: note.signatures[0].name,
                with: Curve25519.Signing.PrivateKey()
            )
        )
        let beyondHead = try listed.cosign(
            try SignedNote.sign(
                note.text.replacingOccurrences(of: "\n5\n", with: "\n6\n"),
                name: "x",
                with: Curve25519.Signing.PrivateKey()
            )
        )
        // The same values in other bytes: the root's base64 with its unused last bits set.
        let body = try CheckpointNoteBody(parsing: note.text)
        var rootText = Array(Data(body.rootHash).base64EncodedString())
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let last = try #require(alphabet.firstIndex(of: rootText[42]))
        rootText[42] = alphabet[last | 1]
        let otherBytes = try SignedNote.sign(
            "\(body.origin)\n5\n\(String(rootText))\n",
            name: "x",
            with: Curve25519.Signing.PrivateKey()
        )
        #expect(try CheckpointNoteBody(parsing: otherBytes.text).rootHash == body.rootHash)
        let refusals: [(String, SignedNote)] = [
            ("the same root in other bytes", try listed.cosign(otherBytes)),
            ("altered", altered),
            ("wrong length", wrongLength),
            ("another log", try listed.cosign(anotherLog)),
            ("another root at size 4", wrongRoot),
            ("beyond the head", beyondHead),
            ("dated in the future", try listed.cosign(note, time: now + 3_600)),
            ("no listed witness", try unlisted.cosign(note)),
            ("only the log's own signature", note),
            ("twice", try listed.cosign(try listed.cosign(note, time: now - 1), time: now)),
            (
                "extension line",
                try listed.cosign(
                    try SignedNote.sign(note.text + "extra\n", name: "x", with: Curve25519.Signing.PrivateKey())
                )
            ),
        ]
        for (what, submitted) in refusals {
            let error = #expect(throws: LedgerError.self, "\(what)") { try ledger.addCosignatures(submitted) }
            #expect(error?.code == .invalidField, "\(what): \(String(describing: error))")
            #expect(try ledger.cosignatures(treeSize: 5).isEmpty, "\(what) stored something")
        }
        #expect(try ledger.latestCosignedTreeSize() == nil)

        // Valid lines are stored beside ignored ones; an older cosignature does not replace a newer.
        let mixed = try unlisted.cosign(try listed.cosign(note, time: now))
        let receipt = try ledger.addCosignatures(mixed)
        #expect(receipt.stored == [listed.witness.name] && receipt.ignored == 2)
        let older = try ledger.addCosignatures(try listed.cosign(note, time: now - 60))
        #expect(older.stored.isEmpty && older.unchanged == [listed.witness.name])
        #expect(try ledger.cosignatures(treeSize: 5).map(\.time) == [now])
        // A witness removed from the catalogue is no longer shown.
        try ledger.loadCatalogue(try Catalogue.bundled())
        #expect(try ledger.checkpointNote(treeSize: 5).signatures.count == 1)
        #expect(try ledger.latestCosignedTreeSize() == nil)
    }

    @Test func theCheckOfANoteCountsDistinctWitnessesAndRefusesForgeries() throws {
        let first = try SwiftWitness(name: "w1.example")
        let second = try SwiftWitness(name: "w2.example")
        let directory = TemporaryDirectory()
        let ledger = try ledger(in: directory, witnesses: [first.witness.verifierKey, second.witness.verifierKey])
        let note = try ledger.checkpointNote()
        let both = try second.cosign(try first.cosign(note))
        let witnesses = [first.witness, second.witness]
        func failure(_ note: SignedNote, _ required: Int, _ listed: [WitnessKey] = witnesses) throws -> String? {
            try CheckpointVerifier.failure(
                ofNote: note,
                against: ledger,
                witnesses: listed,
                requiredCosignatures: required
            )?.reason
        }
        #expect(try failure(both, 2) == nil)
        #expect(try failure(both, 3)?.contains("2 of the 3") == true)
        // The same witness twice counts once.
        #expect(try failure(try first.cosign(try first.cosign(note, time: 1)), 2)?.contains("1 of the 2") == true)
        // The auditor's own list replaces the catalogue's.
        #expect(try failure(both, 2, [first.witness])?.contains("1 of the 2") == true)
        // Not signed by the ledger: the cosignatures do not help.
        var unsigned = both
        unsigned.signatures.removeFirst()
        #expect(try failure(unsigned, 2)?.contains("no valid signature of this ledger") == true)
        // Another log's note.
        let anotherLog = try SignedNote.sign(
            note.text.replacingOccurrences(of: "consentledger/", with: "consentledger/0"),
            name: "x",
            with: Curve25519.Signing.PrivateKey()
        )
        #expect(try failure(anotherLog, 0)?.contains("another log") == true)
        // A root the log does not have at that size, signed by the ledger's key: rewritten history.
        let body = try CheckpointNoteBody(parsing: note.text)
        var otherRoot = body.rootHash
        otherRoot[0] ^= 1
        let rewritten = try SignedNote.sign(
            "\(body.origin)\n5\n\(Data(otherRoot).base64EncodedString())\n",
            name: body.origin,
            with: try ledger.signingKey()
        )
        #expect(try failure(rewritten, 0)?.contains("does not extend") == true)
        // The log grew: still extended, by the consistency proof.
        _ = try ledger.append([try Fixture.grant("more@example.no")], actor: "t")
        #expect(try failure(both, 2) == nil)
    }

    /// An Ed25519 cosignature does not sign its witness's name: one key's signature copied under a
    /// second name counts once.
    @Test func oneKeyUnderTwoNamesCountsOnce() throws {
        let witness = try SwiftWitness(name: "w1.example")
        let alias = try WitnessKey(name: "alias.example", publicKey: witness.witness.publicKey)
        let directory = TemporaryDirectory()
        let ledger = try ledger(in: directory, witnesses: [witness.witness.verifierKey])
        var note = try witness.cosign(try ledger.checkpointNote())
        let copied = note.signatures[1]
        note.signatures.append(.init(name: alias.name, keyHash: alias.keyID, bytes: copied.bytes))
        let failure = try CheckpointVerifier.failure(
            ofNote: note,
            against: ledger,
            witnesses: [witness.witness, alias],
            requiredCosignatures: 2
        )
        #expect(failure?.reason.contains("1 of the 2") == true)
        #expect(throws: LedgerError.self) {
            try WitnessKey(name: String(repeating: "w", count: 256), publicKey: witness.witness.publicKey)
        }
        #expect(
            try WitnessKey(name: String(repeating: "w", count: 255), publicKey: witness.witness.publicKey).name.count
                == 255
        )
    }

    @Test func cataloguesRefuseMalformedWitnessKeys() throws {
        let witness = try SwiftWitness(name: "w.example").witness
        let plainNoteKey = SignedNote.verifierKey(name: "w.example", publicKey: witness.publicKey)
        let parts = witness.verifierKey.split(separator: "+", maxSplits: 2).map(String.init)
        let malformed = [
            plainNoteKey,  // algorithm 0x01: a note signer, not a cosigner
            parts[0] + "+00000000+" + parts[2],  // a key ID that is not the key's
            "other.example+" + parts[1] + "+" + parts[2],  // the name changed
            parts[0] + "+" + parts[1],
            "w example+" + parts[1] + "+" + parts[2],
        ]
        for key in malformed {
            let source = try Catalogue.bundled().source + "\nwitnesses:\n  - \"\(key)\"\n"
            #expect(throws: LedgerError.self, "\(key)") { try Catalogue.parse(source) }
        }
        let twice =
            try Catalogue.bundled().source + "\nwitnesses:\n  - \(witness.verifierKey)\n  - \(witness.verifierKey)\n"
        #expect(throws: LedgerError.self) { try Catalogue.parse(twice) }
        let parsed = try Catalogue.parse(try Catalogue.bundled().source + "\nwitnesses:\n  - \(witness.verifierKey)\n")
        #expect(parsed.witnesses == [witness])
        #expect(try WitnessKey(verifierKey: witness.verifierKey) == witness)
    }
}
