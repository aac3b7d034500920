import Foundation
import TestSupport
import Testing

/// `ledgerctl checkpoint` and `verify --checkpoint` (SPEC §4, §8).
@Suite(.serialized)
struct CheckpointTests {
    private func appendMany(_ ctl: LedgerctlRunner, _ prefix: String, _ count: Int, scratch: Scratch) throws {
        let lines = (0..<count).map { #"{"type":"access.requested","subject":"\#(prefix)\#($0)"}"# }
        let path = scratch.path + "/\(prefix).ndjson"
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ctl.run(["import", path]).status == 0)
    }

    @Test func theLogExtendsItsCheckpointsAndRewritesAndTruncationsAreCaught() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["init"]).status == 0)
        try appendMany(ctl, "a", 5, scratch: scratch)
        // A copy as the ledger stood at 5 events, for the truncation and rewrite cases.
        try FileManager.default.copyItem(atPath: scratch.path + "/ledger", toPath: scratch.path + "/at5")
        try appendMany(ctl, "b", 5, scratch: scratch)
        let checkpointPath = scratch.path + "/cp.json"
        let printed = try ctl.run(["checkpoint"])
        #expect(printed.status == 0)
        try printed.stdout.write(toFile: checkpointPath, atomically: true, encoding: .utf8)
        #expect(jsonObject(printed.stdout)?["treeSize"] as? Int == 10)

        try appendMany(ctl, "c", 7, scratch: scratch)
        let ok = try ctl.run(["verify", "--checkpoint", checkpointPath, "--full"])
        #expect(ok.status == 0)
        #expect(ok.stdout.hasPrefix("OK"))

        // Altered: one changed byte inside the checkpointed range is found by the full re-hash.
        let export = try ctl.run(["export"]).stdout.split(separator: "\n")
        let payloadText = try #require(jsonObject(String(export[2]))?["payload"] as? String)
        let payload = try #require(Data(base64Encoded: payloadText))
        try FileManager.default.copyItem(atPath: scratch.path + "/ledger", toPath: scratch.path + "/altered")
        let dataPath = scratch.path + "/altered/events/data.mdb"
        var bytes = try #require(FileManager.default.contents(atPath: dataPath))
        // Copy-on-write leaves stale copies of a page in the file: change every copy.
        var searchFrom = bytes.startIndex
        var changed = 0
        while let range = bytes.range(of: payload, in: searchFrom..<bytes.endIndex) {
            bytes[range.lowerBound + 5] ^= 0x01
            searchFrom = range.upperBound
            changed += 1
        }
        #expect(changed >= 1)
        try bytes.write(to: URL(fileURLWithPath: dataPath))
        let altered = try LedgerctlRunner(ledger: scratch.path + "/altered").run([
            "verify", "--checkpoint", checkpointPath, "--full",
        ])
        #expect(altered.status == 1)
        #expect(altered.stdout.contains("seq 3"))

        // Truncated: the copy has only 5 of the checkpoint's 10 events.
        let truncated = try LedgerctlRunner(ledger: scratch.path + "/at5").run([
            "verify", "--json", "--checkpoint", checkpointPath,
        ])
        #expect(truncated.status == 1)
        #expect((jsonObject(truncated.stdout)?["reason"] as? String)?.contains("truncated") == true)

        // Rewritten and re-hashed from event 6 on: a valid chain, but not the checkpointed one.
        let rewritten = LedgerctlRunner(ledger: scratch.path + "/at5")
        try appendMany(rewritten, "x", 12, scratch: scratch)
        #expect(try rewritten.run(["verify"]).status == 0)
        let caught = try rewritten.run(["verify", "--checkpoint", checkpointPath])
        #expect(caught.status == 1)
        #expect(caught.stdout.contains("rewritten"))

        // A forged signature: the numbers altered after signing.
        var forged = printed.stdout.replacingOccurrences(of: #""treeSize":10"#, with: #""treeSize":9"#)
        try forged.write(toFile: checkpointPath, atomically: true, encoding: .utf8)
        let forgery = try ctl.run(["verify", "--checkpoint", checkpointPath])
        #expect(forgery.status == 1)
        #expect(forgery.stdout.contains("signature"))

        // Another ledger's checkpoint.
        let other = LedgerctlRunner(ledger: scratch.path + "/other")
        #expect(try other.run(["init"]).status == 0)
        forged = try other.run(["checkpoint"]).stdout
        try forged.write(toFile: checkpointPath, atomically: true, encoding: .utf8)
        let foreign = try ctl.run(["verify", "--checkpoint", checkpointPath])
        #expect(foreign.status == 1)
        #expect(foreign.stdout.contains("another ledger"))
    }

    /// `ledgerctl prove --seq` / `--consistency` and `GET /v1/proofs/…` give the same proofs, with
    /// the checkpoint's root at the head; impossible requests are refused with stable codes.
    @Test func proofsOnDemandFromTheCommandAndTheServerAgree() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["init"]).status == 0)
        try appendMany(ctl, "a", 10, scratch: scratch)
        let checkpoint = try #require(jsonObject(try ctl.run(["checkpoint"]).stdout))
        let inclusion = try ctl.run(["prove", "--seq", "3", "--tree-size", "7"])
        #expect(inclusion.status == 0, "\(inclusion.stderr)")
        let included = try #require(jsonObject(inclusion.stdout))
        #expect(included["type"] as? String == "inclusion")
        #expect(included["leafIndex"] as? Int == 2)
        #expect(included["treeSize"] as? Int == 7)
        #expect((included["hashes"] as? [String])?.count == 3)
        let atHead = try #require(jsonObject(try ctl.run(["prove", "--seq", "10"]).stdout))
        #expect(atHead["treeSize"] as? Int == 10)
        #expect(atHead["rootHash"] as? String == checkpoint["rootHash"] as? String)
        let consistency = try ctl.run(["prove", "--consistency", "4", "9"])
        #expect(consistency.status == 0, "\(consistency.stderr)")
        let consistent = try #require(jsonObject(consistency.stdout))
        #expect(consistent["oldSize"] as? Int == 4)
        #expect(consistent["treeSize"] as? Int == 9)
        let toHead = try #require(jsonObject(try ctl.run(["prove", "--consistency", "4"]).stdout))
        #expect(toHead["rootHash"] as? String == checkpoint["rootHash"] as? String)
        for arguments in [
            ["--seq", "0"], ["--seq", "11"], ["--seq", "5", "--tree-size", "4"], ["--consistency", "0", "3"],
        ] {
            let refused = try ctl.run(["prove", "--json"] + arguments)
            #expect(refused.status == 2, "\(arguments): \(refused.stdout)")
            #expect(refused.stdout.contains("invalid_field"), "\(arguments): \(refused.stdout)")
        }
        for arguments in [
            ["--consistency", "1", "2", "3"], ["--tree-size", "3"], ["--seq", "1", "--consistency", "1"],
        ] {
            #expect(try ctl.run(["prove"] + arguments).status == 2, "\(arguments)")
        }

        try FileManager.default.createDirectory(atPath: scratch.path + "/run", withIntermediateDirectories: true)
        let server = try TestServer(ledger: ctl.ledger, socket: scratch.path + "/run/ledger.sock")
        let served = try server.call("GET", "/v1/proofs/inclusion?seq=3&treeSize=7")
        #expect(served.status == 200)
        #expect(
            served.text.trimmingCharacters(in: .whitespacesAndNewlines)
                == inclusion.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        )
        let servedConsistency = try server.call("GET", "/v1/proofs/consistency?from=4&to=9")
        #expect(servedConsistency.status == 200)
        #expect(
            servedConsistency.text.trimmingCharacters(in: .whitespacesAndNewlines)
                == consistency.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        )
        #expect(try server.call("GET", "/v1/proofs/consistency?from=4").json?["treeSize"] as? Int == 10)
        let refusals: [(String, String)] = [
            ("/v1/proofs/inclusion", "missing_field"), ("/v1/proofs/inclusion?seq=0", "invalid_field"),
            ("/v1/proofs/inclusion?seq=-1", "invalid_field"),
            ("/v1/proofs/inclusion?seq=3&treeSize=2", "invalid_field"),
            ("/v1/proofs/inclusion?seq=99999999999999999999", "invalid_field"),
            ("/v1/proofs/consistency?to=3", "missing_field"), ("/v1/proofs/consistency?from=5&to=4", "invalid_field"),
            ("/v1/proofs/consistency?from=1&to=11", "invalid_field"),
            ("/v1/proofs/inclusion?leafHash=00", "invalid_field"),
            ("/v1/proofs/inclusion?leafHash=" + String(repeating: "zz", count: 32), "invalid_field"),
            ("/v1/proofs/inclusion?seq=1&leafHash=" + String(repeating: "00", count: 32), "invalid_field"),
        ]
        for (path, code) in refusals {
            let reply = try server.call("GET", path)
            #expect(reply.status == 400, "\(path)")
            #expect(errorCode(reply.json) == code, "\(path): \(reply.text)")
        }
        #expect(try server.call("POST", "/v1/proofs/inclusion?seq=1", "{}").status == 405)
        // By leaf hash (SHA-256 of 0x00 and the event hash): the same proof as by seq, from the
        // command and the server; a leaf no event of the tree has is 404 / exit 2.
        let third = try #require(jsonObject(inclusion.stdout))
        let eventHash = try #require(third["eventHash"] as? String)
        let leafHash = try #require(third["leafHash"] as? String)
        let byLeaf = try ctl.run(["prove", "--leaf-hash", leafHash, "--tree-size", "7"])
        #expect(byLeaf.status == 0 && byLeaf.stdout == inclusion.stdout, "\(byLeaf.stdout)")
        let servedByLeaf = try server.call("GET", "/v1/proofs/inclusion?leafHash=\(leafHash)&treeSize=7")
        #expect(servedByLeaf.status == 200)
        #expect(servedByLeaf.text == inclusion.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(try server.call("GET", "/v1/proofs/inclusion?leafHash=\(leafHash)&treeSize=2").status == 404)
        #expect(try ctl.run(["prove", "--leaf-hash", eventHash]).status == 2)
        // The checkpoint as a signed note: the same from the command and from GET /checkpoint
        // (Ed25519 signatures are deterministic), with the JSON checkpoint's size and root.
        let note = try ctl.run(["checkpoint", "--format", "note"])
        #expect(note.status == 0)
        let noteLines = note.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(noteLines.count == 6, "\(note.stdout)")
        #expect(noteLines.first?.hasPrefix("consentledger/") == true)
        #expect(noteLines.dropFirst().first == "10")
        #expect(noteLines[3] == "" && noteLines[4].hasPrefix("\u{2014} consentledger/"))
        let servedNote = try server.call("GET", "/checkpoint")
        #expect(servedNote.status == 200)
        // The same text and signer (signature bytes are not compared: Ed25519 signing may be
        // randomised on other platforms).
        let servedLines = servedNote.text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(Array(servedLines.prefix(4)) == Array(noteLines.prefix(4)))
        #expect(
            servedLines.dropFirst(4).first?.split(separator: " ").prefix(2)
                == noteLines[4].split(separator: " ").prefix(2)
        )
        let key = try ctl.run(["checkpoint", "--format", "verifier-key"]).stdout
        #expect(key.hasPrefix(String(noteLines[0]) + "+"), "\(key)")
        #expect(try ctl.run(["checkpoint", "--format", "yaml"]).status == 2)
        #expect(server.stop() == 0)
    }

    /// A witness (Go's `tlogcheck -keygen` / `-cosign`) listed in the catalogue cosigns a checkpoint;
    /// `witnesses add-cosignatures` and `POST /v1/checkpoint/cosignatures` store it, the note of
    /// that size carries it (command and `GET /checkpoint?treeSize=`), and `verify --checkpoint`
    /// requires it with `--cosignatures`.
    @Test func witnessCosignaturesThroughTheCommandAndTheServer() throws {
        let scratch = Scratch()
        let built = try VerifierTools.buildTlogcheck(into: scratch.path)
        try #require(built.status == 0, "tlogcheck did not build (scripts/install-test-deps): \(built.stderr)")
        let tlogcheck = scratch.path + "/tlogcheck"
        func witness(_ name: String) throws -> (vkey: String, seed: String) {
            let lines = try VerifierTools.run(tlogcheck, ["-keygen", name]).stdout.split(separator: "\n")
            try #require(lines.count == 2)
            return (String(lines[0]), String(lines[1]))
        }
        let (first, second) = (try witness("w1.example/witness"), try witness("w2.example/witness"))
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["init"]).status == 0)
        try appendMany(ctl, "a", 6, scratch: scratch)
        #expect(try ctl.run(["witnesses"]).stdout.contains("lists no witnesses"))
        let catalogue = scratch.path + "/catalogue.yaml"
        try (try ctl.run(["catalogue"]).stdout + "\nwitnesses:\n  - \(first.vkey)\n  - \(second.vkey)\n")
            .write(toFile: catalogue, atomically: true, encoding: .utf8)
        #expect(try ctl.run(["init", "--policy", catalogue]).status == 0)
        let logKey = try ctl.run(["checkpoint", "--format", "verifier-key"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let note = try ctl.run(["checkpoint", "--format", "note"]).stdout
        func cosign(_ note: String, by witness: (vkey: String, seed: String)) throws -> String {
            let name = String(witness.vkey.prefix { $0 != "+" })
            let time = String(UInt64(Date().timeIntervalSince1970))
            let signed = try VerifierTools.run(tlogcheck, ["-cosign", name, witness.seed, logKey, time], input: note)
            try #require(signed.status == 0, "\(signed.stdout)")
            return signed.stdout
        }
        let byFirst = try cosign(note, by: first)
        let notePath = scratch.path + "/cosigned.txt"
        try byFirst.write(toFile: notePath, atomically: true, encoding: .utf8)
        let plainPath = scratch.path + "/plain.txt"
        try note.write(toFile: plainPath, atomically: true, encoding: .utf8)

        let added = try ctl.run(["witnesses", "add-cosignatures", notePath, "--json"])
        #expect(added.status == 0)
        #expect(jsonObject(added.stdout)?["stored"] as? [String] == ["w1.example/witness"], "\(added.stdout)")
        let listed = try ctl.run(["witnesses", "list", "--json"]).stdout
        #expect(listed.contains(#""latestTreeSize":6"#) && listed.contains(#""latestTreeSize":null"#), "\(listed)")
        // Refused input changes nothing and exits 2: the plain note (no witness), a forged line.
        #expect(try ctl.run(["witnesses", "add-cosignatures", plainPath]).status == 2)
        let forgedPath = scratch.path + "/forged.txt"
        try byFirst.replacingOccurrences(of: "\u{2014} w1.example/witness ", with: "\u{2014} w1.example/witness A")
            .write(toFile: forgedPath, atomically: true, encoding: .utf8)
        #expect(try ctl.run(["witnesses", "add-cosignatures", forgedPath]).status == 2)

        #expect(try ctl.run(["verify", "--checkpoint", notePath, "--cosignatures", "1"]).status == 0)
        let twoRequired = try ctl.run(["verify", "--checkpoint", notePath, "--cosignatures", "2", "--json"])
        #expect(twoRequired.status == 1 && twoRequired.stdout.contains("checkpoint_mismatch"), "\(twoRequired.stdout)")
        #expect(try ctl.run(["verify", "--checkpoint", plainPath, "--cosignatures", "1"]).status == 1)
        #expect(try ctl.run(["verify", "--checkpoint", plainPath]).status == 0)
        let ownKeys = ["--witness-key", second.vkey]
        #expect(try ctl.run(["verify", "--checkpoint", notePath, "--cosignatures", "1"] + ownKeys).status == 1)
        #expect(try ctl.run(["verify", "--cosignatures", "1"]).status == 2)

        try appendMany(ctl, "b", 3, scratch: scratch)
        let server = try TestServer(ledger: ctl.ledger, socket: scratch.path + "/ledger.sock")
        let bySecond = try cosign(note, by: second)
        let posted = try server.call("POST", "/v1/checkpoint/cosignatures", bySecond, contentType: "text/plain")
        #expect(posted.status == 200, "\(posted.text)")
        #expect(posted.json?["stored"] as? [String] == ["w2.example/witness"])
        for hostile in ["", "\u{0}\u{1}", note, String(repeating: "x\n", count: 40_000)] {
            let refused = try server.call("POST", "/v1/checkpoint/cosignatures", hostile, contentType: "text/plain")
            #expect((400..<500).contains(refused.status), "\(refused.status) \(refused.text)")
        }
        let atSix = try server.call("GET", "/checkpoint?treeSize=6")
        #expect(atSix.status == 200)
        let opened = try VerifierTools.run(
            tlogcheck,
            ["-cosigned", logKey, first.vkey, second.vkey],
            input: atSix.text + "\n"
        )
        #expect(opened.status == 0 && opened.stdout.hasSuffix(" 2\n"), "\(opened.stdout)")
        #expect(try server.call("GET", "/checkpoint?treeSize=10").status == 400)
        #expect(try server.call("GET", "/checkpoint?treeSize=x").status == 400)
        let latest = try ctl.run(["checkpoint", "--format", "note", "--latest-cosigned"]).stdout
        #expect(latest.split(separator: "\n").count == 6 && latest.contains("\n6\n"), "\(latest)")
        try latest.write(toFile: notePath, atomically: true, encoding: .utf8)
        #expect(try ctl.run(["verify", "--checkpoint", notePath, "--cosignatures", "2"]).status == 0)
        #expect(server.stop() == 0)
    }
}
