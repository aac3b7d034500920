import Foundation
import Testing

@testable import Ledger
@testable import Projections

/// Every input of the fuzz corpus (`Fuzz/Corpus/<target>/`, docs/FUZZING.md) fed to its target's
/// entry point without libFuzzer: each answers or refuses cleanly, and the seeds the product made
/// (the SPEC's export lines, an export, the bundled catalogue, a checkpoint, proof bundles) verify.
/// An input that once crashed a target is kept in its corpus folder, so it is replayed here too.
struct FuzzRegressionTests {
    /// The files of one corpus folder, by name.
    private static func corpus(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/Corpus").appendingPathComponent(target)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        return try names.map { name in
            (name, Array(try Data(contentsOf: folder.appendingPathComponent(name))))
        }
    }

    private static func write(_ bytes: [UInt8], in directory: TemporaryDirectory) -> String {
        let path = directory.path + "/input"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    @Test func clientEventInputsDecodeOrAreRefused() throws {
        let catalogue = try Catalogue.bundled()
        let inputs = try Self.corpus("client-event")
        #expect(inputs.count >= 8)
        for (name, bytes) in inputs {
            if let value = JSONValue.parse(bytes) {
                #expect(JSONValue.parse(value.utf8) == value, "\(name)")
            }
            do {
                _ = try ClientEvent.decode(json: bytes, catalogue: catalogue)
                #expect(!name.contains("unknown") && !name.contains("duplicate") && !name.contains("erasure"))
            } catch is LedgerError {}
        }
    }

    @Test func ndjsonInputsReadLineByLine() throws {
        let directory = TemporaryDirectory()
        let catalogue = try Catalogue.bundled()
        for (name, bytes) in try Self.corpus("ndjson") where !bytes.isEmpty {
            let file = Array(bytes.dropFirst())
            let limit = bytes[0] < 0x80 ? Int(bytes[0]) : LineReader.defaultMaxLineBytes
            var reader = try LineReader(path: Self.write(file, in: directory), maxLineBytes: limit)
            do {
                while let line = try reader.next() {
                    if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { continue }
                    do { _ = try ClientEvent.decode(json: line, catalogue: catalogue) } catch is LedgerError {}
                }
                #expect(reader.bytesConsumed == UInt64(file.count), "\(name)")
            } catch let error as LedgerError {
                #expect(error.code == .payloadTooLarge, "\(name)")
            }
        }
    }

    @Test func catalogueInputsParseOrAreRefused() throws {
        for (name, bytes) in try Self.corpus("catalogue") {
            do {
                let catalogue = try Catalogue.parse(String(decoding: bytes, as: UTF8.self))
                if name == "bundled.yaml" { #expect(catalogue.purposes.count == 11) }
            } catch let error as LedgerError {
                #expect(error.code == .invalidCatalogue, "\(name)")
                #expect(name != "bundled.yaml" && name != "small.yaml")
            }
        }
    }

    @Test func exportInputsVerifyOrNameTheFirstBadSeq() throws {
        let directory = TemporaryDirectory()
        for (name, bytes) in try Self.corpus("export-verifier") {
            let report = try ExportVerifier.verify(path: Self.write(bytes, in: directory))
            switch name {
            case "spec-hash-vectors.ndjson":
                #expect(report.isValid && report.events == 2)
                #expect(report.headHash == "c910d72991168f148c58b87e47e58f2b2489e40f5489fbc12e31e9c2c915c47c")
            case "ledger-export.ndjson", "one-record.ndjson": #expect(report.isValid, "\(name)")
            case "renumbered.ndjson": #expect(report.failure?.seq == 2)
            default: #expect(!report.isValid, "\(name)")
            }
        }
    }

    @Test func proofInputsVerifyOrAreRefused() throws {
        let rules = ProjectionRules(catalogue: try Catalogue.bundled())
        for (name, bytes) in try Self.corpus("proof") {
            let failure = ProofBundle.failure(ofJSON: bytes, rules: rules)
            if name.hasPrefix("subject-state") || name.hasPrefix("erasure-receipt") {
                #expect(failure == nil, "\(name): \(failure ?? "")")
            } else {
                #expect(failure != nil, "\(name)")
            }
            do {
                let checkpoint = try Checkpoint(json: bytes)
                #expect(name == "checkpoint.json" || name == "empty-checkpoint.json", "\(name)")
                #expect(try Checkpoint(json: checkpoint.json.utf8) == checkpoint)
                #expect(checkpoint.hasValidSignature == (name == "checkpoint.json"))
            } catch is LedgerError {
                #expect(name != "checkpoint.json")
            }
        }
    }
}
