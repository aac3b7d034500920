import Foundation
import Projections
import TestSupport
import Testing

@testable import Ledger

/// The ledger's inclusion and consistency proofs, as `ledgerctl prove` and `GET /v1/proofs/…` give
/// them, checked by code the project did not write (`Tests/Verifiers/`): Go's
/// `golang.org/x/mod/sumdb/tlog` and pymerkle. Every proof at many tree sizes, before and after an
/// erasure, is accepted by both, pymerkle's own roots of the log's leaves match the proofs', and
/// every altered proof is refused by both. `scripts/install-test-deps` installs the verifiers; a
/// test that cannot run them fails rather than passes unchecked.
struct ExternalVerifierTests {
    /// A ledger of 300 events over 40 subjects in batches of uneven sizes, one subject erased at
    /// seq 151, and the event hashes in seq order.
    private func ledgerWithAnErasure(in directory: TemporaryDirectory) throws -> (Ledger, [String]) {
        let ledger = try Fixture.ledger(in: directory)
        var appended = 0
        var batch = 1
        while appended < 150 {
            let count = min(batch, 150 - appended)
            _ = try ledger.append(
                try (appended..<appended + count).map { try Fixture.grant("p\($0 % 40)@example.no") },
                actor: "t"
            )
            appended += count
            batch = batch % 13 + 1
        }
        _ = try ledger.erase(subject: "p7@example.no", requestId: nil, actor: "t")
        _ = try ledger.append(try (0..<149).map { try Fixture.grant("q\($0 % 40)@example.no") }, actor: "t")
        var hashes: [String] = []
        try ledger.forEachEvent { event in
            hashes.append(event.hashHex)
            return true
        }
        #expect(hashes.count == 300)
        return (ledger, hashes)
    }

    /// Sizes at and around powers of two, around the erasure (seq 151), and the head.
    private static let largeSizes: [UInt64] = [127, 128, 129, 150, 151, 152, 200, 255, 256, 257, 299, 300]

    private func proofs(of ledger: Ledger) throws -> [JSONValue] {
        var lines: [JSONValue] = []
        for size in UInt64(1)...64 {
            for seq in UInt64(1)...size { lines.append(try ledger.proveInclusion(seq: seq, treeSize: size).json) }
        }
        for size in Self.largeSizes {
            for seq: UInt64 in [1, 2, size / 2, 150, 151, 152, size - 1, size] where seq >= 1 && seq <= size {
                lines.append(try ledger.proveInclusion(seq: seq, treeSize: size).json)
            }
        }
        for new in UInt64(1)...40 {
            for old in UInt64(1)...new { lines.append(try ledger.proveConsistency(from: old, to: new).json) }
        }
        for new in Self.largeSizes {
            for old: UInt64 in [1, 2, 3, 64, 100, 127, 128, 150, 151, new - 1, new] where old >= 1 && old <= new {
                lines.append(try ledger.proveConsistency(from: old, to: new).json)
            }
        }
        return lines
    }

    /// Ways to alter a proof that no verifier may accept (a changed tree size alone is not one:
    /// RFC 9162 proofs fix only the path's shape, so a neighbouring size can verify too).
    private func alterations(of proof: JSONValue) -> [JSONValue] {
        guard let members = proof.objectMembers else { return [] }
        func with(_ name: String, _ value: JSONValue) -> JSONValue {
            .object(members.map { $0.0 == name ? ($0.0, value) : $0 })
        }
        func flipped(_ hex: String) -> String {
            let first = hex.prefix(1) == "0" ? "1" : "0"
            return first + hex.dropFirst()
        }
        var altered: [JSONValue] = []
        for name in ["rootHash", "eventHash", "oldRootHash"] {
            if let hex = proof[name]?.stringValue { altered.append(with(name, .string(flipped(hex)))) }
        }
        if let hashes = proof["hashes"]?.arrayItems, !hashes.isEmpty {
            for position in Set([0, hashes.count - 1]) {
                var changed = hashes
                changed[position] = .string(flipped(hashes[position].stringValue ?? ""))
                altered.append(with("hashes", .array(changed)))
            }
            altered.append(with("hashes", .array(Array(hashes.dropLast()))))
        }
        if let hashes = proof["hashes"]?.arrayItems, let extra = proof["rootHash"] {
            altered.append(with("hashes", .array(hashes + [extra])))
        }
        if let index = proof["leafIndex"]?.uint64Value, let size = proof["treeSize"]?.uint64Value, size > 1 {
            altered.append(with("leafIndex", .int(Int64(index + 1 < size ? index + 1 : index - 1))))
        }
        return altered
    }

    /// Runs both verifiers on `proofs`; their output lines, Go's then pymerkle's.
    private func verify(_ proofs: [JSONValue], leaves: String?) throws -> (go: [String], pymerkle: [String]) {
        let input = proofs.map(\.serialized).joined(separator: "\n") + "\n"
        let scratch = TemporaryDirectory()
        let built = try VerifierTools.buildTlogcheck(into: scratch.path)
        try #require(built.status == 0, "tlogcheck did not build (scripts/install-test-deps): \(built.stderr)")
        let go = try VerifierTools.run(scratch.path + "/tlogcheck", [], input: input)
        let pymerkle = try VerifierTools.runPython(
            "pymerkle_check.py",
            leaves.map { ["--leaves", $0] } ?? [],
            input: input
        )
        try #require(
            !pymerkle.stderr.contains("ModuleNotFoundError"),
            "pymerkle is missing (scripts/install-test-deps): \(pymerkle.stderr)"
        )
        let goLines = go.stdout.split(separator: "\n").map(String.init)
        let pymerkleLines = pymerkle.stdout.split(separator: "\n").map(String.init)
        #expect(goLines.count == proofs.count, "\(go.stderr)")
        #expect(pymerkleLines.count == proofs.count, "\(pymerkle.stderr)")
        return (goLines, pymerkleLines)
    }

    @Test func goAndPymerkleAcceptEveryProofAcrossAnErasure() throws {
        let directory = TemporaryDirectory()
        let (ledger, hashes) = try ledgerWithAnErasure(in: directory)
        let leaves = directory.path + "/leaves.txt"
        try (hashes.joined(separator: "\n") + "\n").write(toFile: leaves, atomically: true, encoding: .utf8)
        let all = try proofs(of: ledger)
        #expect(all.count > 3_000)
        #expect(
            all.allSatisfy {
                (try? InclusionProof(json: $0).isValid) ?? (try? ConsistencyProof(json: $0).isValid) ?? false
            }
        )
        let (go, pymerkle) = try verify(all, leaves: leaves)
        let goRefused = zip(all, go).filter { $0.1 != "OK" }.prefix(3).map { "\($0.0.serialized) → \($0.1)" }
        let pymerkleRefused = zip(all, pymerkle).filter { $0.1 != "OK" }.prefix(3).map {
            "\($0.0.serialized) → \($0.1)"
        }
        #expect(goRefused.isEmpty, "Go's sumdb/tlog refused: \(goRefused)")
        #expect(pymerkleRefused.isEmpty, "pymerkle refused: \(pymerkleRefused)")
    }

    @Test func goAndPymerkleRefuseEveryAlteredProof() throws {
        let directory = TemporaryDirectory()
        let (ledger, _) = try ledgerWithAnErasure(in: directory)
        let sample = try proofs(of: ledger).enumerated().filter { $0.offset % 11 == 0 }.map(\.element)
        let altered = sample.flatMap(alterations(of:))
        #expect(altered.count > 1_000)
        #expect(
            altered.allSatisfy { proof in
                let inclusion = try? InclusionProof(json: proof)
                let consistency = try? ConsistencyProof(json: proof)
                return inclusion?.isValid != true && consistency?.isValid != true
            }
        )
        let (go, pymerkle) = try verify(altered, leaves: nil)
        let goAccepted = zip(altered, go).filter { $0.1 == "OK" }.prefix(3).map(\.0.serialized)
        let pymerkleAccepted = zip(altered, pymerkle).filter { $0.1 == "OK" }.prefix(3).map(\.0.serialized)
        #expect(goAccepted.isEmpty, "Go's sumdb/tlog accepted altered proofs: \(goAccepted)")
        #expect(pymerkleAccepted.isEmpty, "pymerkle accepted altered proofs: \(pymerkleAccepted)")
    }

    /// Every proof validates against the JSON Schema `docs/schemas` documents for it (checked with
    /// the `jsonschema` package), and documents that break it do not.
    @Test func everyProofValidatesAgainstItsDocumentedSchema() throws {
        let directory = TemporaryDirectory()
        let (ledger, _) = try ledgerWithAnErasure(in: directory)
        let all = try proofs(of: ledger)
        for (kind, schema) in [("inclusion", "inclusion-proof"), ("consistency", "consistency-proof")] {
            let documents = all.filter { $0["type"]?.stringValue == kind }
            #expect(documents.count > 500)
            let path = VerifierTools.root + "/docs/schemas/\(schema).schema.json"
            let valid = try VerifierTools.runPython(
                "validate_schema.py",
                [path],
                input: documents.map(\.serialized).joined(separator: "\n")
            )
            try #require(!valid.stderr.contains("ModuleNotFoundError"), "jsonschema is missing: \(valid.stderr)")
            #expect(valid.status == 0, "\(valid.stdout.prefix(500))\(valid.stderr)")
            #expect(valid.stdout.split(separator: "\n").count == documents.count)
            guard let first = documents.first?.objectMembers else { continue }
            let broken: [JSONValue] = [
                .object(first + [("extra", .int(1))]),
                .object(first.map { $0.0 == "rootHash" ? ($0.0, .string(String(repeating: "A", count: 64))) : $0 }),
                .object(first.filter { $0.0 != "hashes" }),
                .object(first.map { $0.0 == "treeSize" ? ($0.0, .int(0)) : $0 }),
            ]
            let invalid = try VerifierTools.runPython(
                "validate_schema.py",
                [path],
                input: broken.map(\.serialized).joined(separator: "\n")
            )
            #expect(invalid.stdout.split(separator: "\n").allSatisfy { $0.hasPrefix("INVALID") }, "\(invalid.stdout)")
            #expect(invalid.status == 1)
        }
    }

    /// Export records, checkpoints, proof bundles and erasure receipts validate against the JSON
    /// Schemas `docs/schemas` documents (with `jsonschema`, references between the schemas
    /// resolved locally), and documents that break them do not.
    @Test func exportRecordsCheckpointsAndBundlesValidateAgainstTheirSchemas() throws {
        let directory = TemporaryDirectory()
        let (ledger, _) = try ledgerWithAnErasure(in: directory)
        try ledger.ensureSigningKey()
        var records: [JSONValue] = []
        try ledger.forEachEvent { event in
            records.append(event.exportRecord)
            return true
        }
        let asOf = try #require(try ledger.head().recordedAt)
        let erasure = try #require(records.first { $0["type"]?.stringValue == "erasure.completed" })
        let bundles: [JSONValue] = [
            try ProofBundle.subjectState(
                ledger: ledger,
                pseudonym: try #require(try ledger.pseudonym(of: "p3@example.no")),
                asOf: asOf
            ).json,
            try ProofBundle.subjectState(
                ledger: ledger,
                pseudonym: try #require(erasure["subject"]?.stringValue),
                asOf: asOf
            ).json,
            try ProofBundle.erasureReceipt(ledger: ledger, seq: try #require(erasure["seq"]?.uint64Value)).json,
        ]
        let emptyDirectory = TemporaryDirectory()
        let empty = try Fixture.ledger(in: emptyDirectory)
        try empty.ensureSigningKey()
        let cases: [(schema: String, documents: [JSONValue])] = [
            ("export-record", records),
            ("checkpoint", [try ledger.checkpoint().json, try empty.checkpoint().json]),
            ("proof-bundle", bundles),
        ]
        for (schema, documents) in cases {
            let path = VerifierTools.root + "/docs/schemas/\(schema).schema.json"
            let valid = try VerifierTools.runPython(
                "validate_schema.py",
                [path],
                input: documents.map(\.serialized).joined(separator: "\n")
            )
            #expect(valid.status == 0, "\(schema): \(valid.stdout.prefix(800))\(valid.stderr.suffix(800))")
            #expect(valid.stdout.split(separator: "\n").count == documents.count, "\(schema)")
            guard let first = documents.first?.objectMembers else { continue }
            var broken: [JSONValue] = [
                .object(first + [("extra", .int(1))]),
                .object(Array(first.dropFirst())),
                .object(first.map { ($0.0, $0.1.stringValue != nil ? .int(7) : .string("7")) }),
            ]
            if schema == "proof-bundle" {
                // Deeper: the first event's record with a hash in capitals, then its proof's leaf index gone.
                func withFirstEvent(_ change: ([(String, JSONValue)]) -> [(String, JSONValue)]) -> JSONValue {
                    .object(
                        first.map { member in
                            guard member.0 == "events", var items = member.1.arrayItems,
                                let event = items.first?.objectMembers
                            else { return member }
                            items[0] = .object(change(event))
                            return (member.0, .array(items))
                        }
                    )
                }
                broken.append(
                    withFirstEvent { event in
                        event.map { part in
                            guard part.0 == "record", let record = part.1.objectMembers else { return part }
                            return (
                                part.0,
                                .object(
                                    record.map {
                                        $0.0 == "hash" ? ($0.0, .string(String(repeating: "A", count: 64))) : $0
                                    }
                                )
                            )
                        }
                    }
                )
                broken.append(
                    withFirstEvent { event in
                        event.map { part in
                            guard part.0 == "proof", let proof = part.1.objectMembers else { return part }
                            return (part.0, .object(proof.filter { $0.0 != "leafIndex" }))
                        }
                    }
                )
            }
            let invalid = try VerifierTools.runPython(
                "validate_schema.py",
                [path],
                input: broken.map(\.serialized).joined(separator: "\n")
            )
            #expect(
                invalid.stdout.split(separator: "\n").allSatisfy { $0.hasPrefix("INVALID") },
                "\(schema): \(invalid.stdout)"
            )
        }
    }

    /// The checkpoint as a C2SP signed note opens with Go's `golang.org/x/mod/sumdb/note` under the
    /// verifier key the ledger gives, and says the JSON checkpoint's size and root; a note with an
    /// edited line, a wrong key, or signature lines that break the format does not open.
    @Test func goOpensTheCheckpointNoteAndRefusesAlteredOnes() throws {
        let directory = TemporaryDirectory()
        let (ledger, _) = try ledgerWithAnErasure(in: directory)
        let emptyDirectory = TemporaryDirectory()
        let empty = try Fixture.ledger(in: emptyDirectory)
        for subject in [ledger, empty] { try subject.ensureSigningKey() }
        let scratch = TemporaryDirectory()
        let built = try VerifierTools.buildTlogcheck(into: scratch.path)
        try #require(built.status == 0, "tlogcheck did not build (scripts/install-test-deps): \(built.stderr)")
        let tlogcheck = scratch.path + "/tlogcheck"
        for subject in [ledger, empty] {
            let checkpoint = try subject.checkpoint()
            let note = try subject.checkpointNote()
            #expect(note.text == checkpoint.noteText)
            #expect(try SignedNote(parsing: note.serialized) == note)
            #expect(note.isSigned(by: checkpoint.origin, publicKey: checkpoint.publicKey))
            let opened = try VerifierTools.run(
                tlogcheck,
                ["-note", checkpoint.noteVerifierKey],
                input: note.serialized
            )
            #expect(
                opened.stdout
                    == "OK \(checkpoint.origin) \(checkpoint.treeSize) \(Hex.encode(checkpoint.rootHash))\n",
                "\(opened.stdout)\(opened.stderr)"
            )
            #expect(opened.status == 0)
        }
        let checkpoint = try ledger.checkpoint()
        let note = try ledger.checkpointNote().serialized
        let other = try empty.checkpoint()
        let altered: [(text: String, signer: Checkpoint)] = [
            (note.replacingOccurrences(of: "\n300\n", with: "\n301\n"), checkpoint),
            (note.replacingOccurrences(of: "consentledger/", with: "consentledger-/"), checkpoint),
            (note, other),
            (note.replacingOccurrences(of: "\u{2014} ", with: "- "), checkpoint),
            (note.replacingOccurrences(of: "\n\n", with: "\n"), checkpoint),
        ]
        for (text, signer) in altered {
            let refused = try VerifierTools.run(tlogcheck, ["-note", signer.noteVerifierKey], input: text)
            #expect(refused.status == 1 && refused.stdout.hasPrefix("INVALID"), "\(text) → \(refused.stdout)")
            let ours = try? SignedNote(parsing: text)
            #expect(ours?.isSigned(by: signer.origin, publicKey: signer.publicKey) != true, "\(text)")
        }
    }

    /// Notes no signer makes are refused when read: too large, too many signatures, a key name
    /// with Unicode whitespace, control characters in the text, a signature that is not base64.
    @Test func hostileNotesAreRefused() throws {
        let line = "\u{2014} k " + Data(repeating: 1, count: 68).base64EncodedString() + "\n"
        let hostile = [
            "o\n1\n" + String(repeating: "x", count: 70_000) + "\n\n" + line,
            "o\n1\nr\n\n" + String(repeating: line, count: 101),
            "o\n1\nr\n\n\u{2014} k\u{00A0}x " + Data(repeating: 1, count: 68).base64EncodedString() + "\n",
            "o\n1\u{0085}\nr\n\n" + line,
            "o\n1\nr\n\n\u{2014} k not-base64!\n",
            "o\n1\nr\n\n" + line.dropLast(),
        ]
        for note in hostile {
            #expect(throws: LedgerError.self, "\(note.prefix(40))") { try SignedNote(parsing: note) }
        }
        #expect(try SignedNote(parsing: "o\n1\nr\n\n" + line).signatures.count == 1)
    }

    /// The proofs' own checks refuse what no RFC 9162 proof can be, with `invalid_field`.
    /// A proof asked for by leaf hash is the proof of the event with that leaf, at every tree size
    /// that holds it (across the erasure), and Go checks them; a leaf outside the tree, an event
    /// hash given as a leaf hash and a malformed one are refused.
    @Test func proofsByLeafHashAreTheProofsOfThoseEvents() throws {
        let directory = TemporaryDirectory()
        let (ledger, hashes) = try ledgerWithAnErasure(in: directory)
        var byLeaf: [JSONValue] = []
        for (index, hash) in hashes.enumerated() {
            let seq = UInt64(index + 1)
            let leaf = MerkleTree.leafHash(try #require(Hex.decode(hash)))
            for size in [seq, max(seq, 151), 300] {
                let proof = try ledger.proveInclusion(leafHash: leaf, treeSize: size)
                #expect(proof == (try ledger.proveInclusion(seq: seq, treeSize: size)), "seq \(seq) size \(size)")
                // Read in chunks of 7 events a transaction: the same proof, across every boundary.
                #expect(proof == (try ledger.proveInclusion(leafHash: leaf, treeSize: size, chunk: 7)))
                byLeaf.append(proof.json)
            }
            #expect(try ledger.proveInclusion(leafHash: leaf).treeSize == 300)
        }
        let (go, _) = try verify(byLeaf, leaves: nil)
        #expect(go.allSatisfy { $0 == "OK" } && go.count == byLeaf.count)
        let late = MerkleTree.leafHash(try #require(Hex.decode(hashes[199])))
        #expect(errorCode { _ = try ledger.proveInclusion(leafHash: late, treeSize: 199) } == .notFound)
        #expect(errorCode { _ = try ledger.proveInclusion(leafHash: late, treeSize: 199, chunk: 7) } == .notFound)
        #expect(errorCode { _ = try ledger.proveInclusion(leafHash: late, treeSize: 301) } == .invalidField)
        let eventHash = try #require(Hex.decode(hashes[10]))
        #expect(errorCode { _ = try ledger.proveInclusion(leafHash: eventHash) } == .notFound)
        #expect(errorCode { _ = try ledger.proveInclusion(leafHash: Array(eventHash.prefix(31))) } == .invalidField)
    }

    @Test func impossibleProofsAreRefused() throws {
        let directory = TemporaryDirectory()
        let (ledger, _) = try ledgerWithAnErasure(in: directory)
        #expect(errorCode { _ = try ledger.proveInclusion(seq: 0, treeSize: 5) } == .invalidField)
        #expect(errorCode { _ = try ledger.proveInclusion(seq: 6, treeSize: 5) } == .invalidField)
        #expect(errorCode { _ = try ledger.proveInclusion(seq: 1, treeSize: 301) } == .invalidField)
        #expect(errorCode { _ = try ledger.proveConsistency(from: 0, to: 5) } == .invalidField)
        #expect(errorCode { _ = try ledger.proveConsistency(from: 6, to: 5) } == .invalidField)
        #expect(errorCode { _ = try ledger.proveConsistency(from: 1, to: 301) } == .invalidField)
        #expect(try ledger.proveInclusion(seq: 300).treeSize == 300)
        #expect(try ledger.proveConsistency(from: 300).hashes.isEmpty)
        let proof = try ledger.proveInclusion(seq: 5, treeSize: 9)
        var json = proof.json
        if case .object(var members) = json {
            members = members.map { $0.0 == "leafHash" ? ($0.0, .string(String(repeating: "0", count: 64))) : $0 }
            json = .object(members)
        }
        #expect(errorCode { _ = try InclusionProof(json: json) } == .invalidField)
        #expect(try InclusionProof(json: proof.json) == proof)
    }
}
