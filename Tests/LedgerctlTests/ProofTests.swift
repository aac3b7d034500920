import Foundation
import Testing

/// `prove`, `erase --receipt` and `verify --proof`: checked offline, and any edit fails.
@Suite(.serialized)
struct ProofTests {
    @Test func aProofBundleAndAnErasureReceiptVerifyOfflineAndEditedOnesFail() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["init"]).status == 0)
        for line in [
            [
                "--type", "consent.granted", "--subject", "p@example.no", "--purpose", "newsletter", "--notice",
                "policy-v1",
            ],
            [
                "--type", "consent.granted", "--subject", "q@example.no", "--purpose", "surveys", "--notice",
                "policy-v1",
            ],
            [
                "--type", "consent.granted", "--subject", "p@example.no", "--purpose", "facebook-pixel", "--notice",
                "policy-v1",
                "--expires-at", "2099-01-01T00:00:00Z",
            ],
            ["--type", "consent.withdrawn", "--subject", "p@example.no", "--purpose", "newsletter"],
        ] { #expect(try ctl.run(["append"] + line).status == 0) }
        let proof = scratch.path + "/proof.json"
        #expect(try ctl.run(["prove", "--subject", "p@example.no", "--out", proof]).status == 0)
        let receipt = scratch.path + "/receipt.json"
        #expect(try ctl.run(["erase", "--subject", "q@example.no", "--receipt", receipt]).status == 0)

        // Offline: no ledger at all.
        let offline = LedgerctlRunner(ledger: scratch.path + "/nowhere")
        let published = try #require(
            jsonObject(try ctl.run(["checkpoint", "--json"]).stdout)?["publicKey"] as? String
        )
        for file in [proof, receipt] {
            let ok = try offline.run(["verify", "--proof", file])
            #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
            // Pinned to the operator's key it holds; pinned to another, it fails, in JSON too.
            #expect(try offline.run(["verify", "--proof", file, "--public-key", published]).status == 0)
            let other = try offline.run([
                "verify", "--proof", file, "--public-key", String(repeating: "0", count: 64), "--json",
            ])
            #expect(other.status == 1, "\(other.stdout)")
            let answer = try #require(jsonObject(other.stdout))
            #expect(answer["ok"] as? Bool == false)
            #expect((answer["reason"] as? String)?.contains("not the public key given") == true, "\(other.stdout)")
        }
        let bundle = try String(contentsOfFile: proof, encoding: .utf8)
        #expect(!bundle.contains("q@example.no") && !bundle.contains("p@example.no"))
        let parsed = try #require(jsonObject(bundle))
        #expect((parsed["events"] as? [Any])?.count == 3)
        #expect((parsed["consents"] as? [[String: Any]])?.map { $0["status"] as? String } == ["granted", "withdrawn"])

        let edits: [(String, String, String)] = [
            (#""status":"withdrawn""#, #""status":"granted""#, "not what the events give"),
            (#""purpose":"facebook-pixel""#, #""purpose":"ads-remarketing""#, "hash does not match"),
            (#""treeSize":4"#, #""treeSize":5"#, "signature"),
        ]
        for (from, to, reason) in edits {
            let edited = scratch.path + "/edited.json"
            #expect(bundle.contains(from))
            try bundle.replacingOccurrences(of: from, with: to).write(toFile: edited, atomically: true, encoding: .utf8)
            let failed = try offline.run(["verify", "--proof", edited])
            #expect(failed.status == 1)
            #expect(failed.stdout.contains(reason), "\(from): \(failed.stdout)")
        }
        // A changed hash inside an inclusion proof.
        let firstProof = try #require((parsed["events"] as? [[String: Any]])?.first?["proof"] as? [String: Any])
        #expect(firstProof["type"] as? String == "inclusion")
        #expect(firstProof["leafIndex"] as? Int == 0)
        #expect(firstProof["treeSize"] as? Int == 4)
        #expect(firstProof["rootHash"] as? String == (parsed["checkpoint"] as? [String: Any])?["rootHash"] as? String)
        let firstProofHash = try #require((firstProof["hashes"] as? [String])?.first)
        let flipped = (firstProofHash.first == "0" ? "1" : "0") + firstProofHash.dropFirst()
        let edited = scratch.path + "/edited.json"
        try bundle.replacingOccurrences(of: firstProofHash, with: flipped).write(
            toFile: edited,
            atomically: true,
            encoding: .utf8
        )
        let failed = try offline.run(["verify", "--proof", edited])
        #expect(failed.status == 1 && failed.stdout.contains("inclusion proof fails"))

        let receiptText = try String(contentsOfFile: receipt, encoding: .utf8)
        #expect(receiptText.contains(#""kind":"erasure-receipt""#))
        try receiptText.replacingOccurrences(of: "erasure.completed", with: "erasure.requested")
            .write(toFile: edited, atomically: true, encoding: .utf8)
        #expect(try offline.run(["verify", "--proof", edited]).status == 1)

        // A proof object naming another leaf than its event fails, though its hashes are right.
        let otherLeaf = try bundleWithProofs(parsed) { proof in
            var changed = proof
            changed["leafIndex"] = ((proof["leafIndex"] as? Int) ?? 0) + 1
            changed["seq"] = ((proof["seq"] as? Int) ?? 0) + 1
            return changed
        }
        try otherLeaf.write(toFile: edited, atomically: true, encoding: .utf8)
        let wrongLeaf = try offline.run(["verify", "--proof", edited])
        #expect(wrongLeaf.status == 1 && wrongLeaf.stdout.contains("names another leaf"), "\(wrongLeaf.stdout)")
        // A bundle written before proofs carried their leaf, size and root (bare hash lists) verifies.
        let older = try bundleWithProofs(parsed) { $0["hashes"] ?? [] }
        try older.write(toFile: edited, atomically: true, encoding: .utf8)
        let olderOutcome = try offline.run(["verify", "--proof", edited])
        #expect(olderOutcome.status == 0, "\(olderOutcome.stdout)")
    }

    /// `bundle` with each event's `proof` replaced by `change(proof)`, serialised.
    private func bundleWithProofs(_ bundle: [String: Any], _ change: ([String: Any]) -> Any) throws -> String {
        var copy = bundle
        copy["events"] = (bundle["events"] as? [[String: Any]])?.map { item in
            var changed = item
            changed["proof"] = change(item["proof"] as? [String: Any] ?? [:])
            return changed
        }
        return String(decoding: try JSONSerialization.data(withJSONObject: copy), as: UTF8.self)
    }
}
