import Foundation
import TestSupport
import Testing

/// `ledgerctl receipt` and `verify --receipt`: a receipt for each bundled consent purpose in each
/// state verifies offline (ledgerctl, examples/verify_receipt.py) and against its schema; any
/// changed value fails; an old receipt still verifies after the subject's erasure and holds no
/// external id or plaintext; bad requests are refused with stable codes.
@Suite(.serialized)
struct ReceiptTests {
    static let purposes = [
        "newsletter", "web-analytics", "facebook-pixel", "ads-remarketing", "surveys", "personality-tests",
    ]
    /// The subject of each state, and the DPV status its receipt must give.
    static let states = [
        ("given", "ConsentGiven"), ("renewed", "RenewedConsentGiven"), ("withdrawn", "ConsentWithdrawn"),
        ("expired", "ConsentExpired"),
    ]
    static let secret = "s3cret-evidence-10.1.2.3"
    /// Ten days ago, so no grant has reached its purpose's TTL (web-analytics: 90 days) by now.
    static let base = Date().addingTimeInterval(-10 * 86_400)

    /// `days` after ``base`` in RFC 3339.
    static func day(_ days: Int) -> String {
        ISO8601DateFormatter().string(from: base.addingTimeInterval(Double(days) * 86_400))
    }

    /// Appends, for every consent purpose, a first grant (`given@`), a grant and its renewal
    /// (`renewed@`), a grant and its withdrawal (`withdrawn@`), and a grant that lapsed (`expired@`).
    private func seed(_ ctl: LedgerctlRunner) throws {
        #expect(try ctl.run(["init"]).status == 0)
        for purpose in Self.purposes {
            func grant(_ subject: String, _ at: String, _ extra: [String] = []) throws {
                let outcome = try ctl.run(
                    [
                        "append", "--type", "consent.granted", "--subject", "\(subject)@example.no", "--purpose",
                        purpose, "--notice", "policy-v1", "--occurred-at", at, "--data", #"{"ip":"\#(Self.secret)"}"#,
                    ] + extra
                )
                #expect(outcome.status == 0, "\(outcome.stderr)")
            }
            try grant("given", Self.day(0))
            try grant("renewed", Self.day(0))
            try grant("renewed", Self.day(2))
            try grant("withdrawn", Self.day(0))
            let withdrawal = try ctl.run([
                "append", "--type", "consent.withdrawn", "--subject", "withdrawn@example.no", "--purpose", purpose,
                "--occurred-at", Self.day(3),
            ])
            #expect(withdrawal.status == 0, "\(withdrawal.stderr)")
            try grant("expired", Self.day(0), ["--expires-at", Self.day(1)])
        }
    }

    private func pythonExample(_ file: String) throws -> VerifierTools.Outcome {
        try VerifierTools.run("/usr/bin/env", ["python3", VerifierTools.root + "/examples/verify_receipt.py", file])
    }

    @Test func everyPurposeAndStateVerifiesThreeWaysAndAfterErasure() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        try seed(ctl)
        let offline = LedgerctlRunner(ledger: scratch.path + "/nowhere")
        var documents: [String] = []
        var files: [String: String] = [:]
        var linkedFiles: [(String, String, String)] = []
        for purpose in Self.purposes {
            for (subject, state) in Self.states {
                let file = scratch.path + "/\(subject)-\(purpose).json"
                let made = try ctl.run([
                    "receipt", "--subject", "\(subject)@example.no", "--purpose", purpose, "--out", file,
                ])
                #expect(made.status == 0, "\(made.stderr)")
                let text = try String(contentsOfFile: file, encoding: .utf8)
                let receipt = try #require(jsonObject(text))
                let record = try #require(receipt["record"] as? [String: Any])
                let event = try #require(record["event"] as? [String: Any])
                #expect(event["event_state"] as? String == state, "\(subject) \(purpose)")
                #expect(record["lawful_basis"] as? String == "GDPR Art. 6(1)(a)")
                #expect(record["jurisdiction"] as? String == "NO" && record["language"] as? String == "nb")
                #expect((record["privacy_notice"] as? [String: Any])?["version"] as? String == "policy-v1")
                #expect(
                    event["validity_duration"] as? String
                        == (subject == "expired"
                            ? "P1D" : (purpose == "web-analytics" && subject != "withdrawn" ? "P90D" : nil))
                )
                let verified = try offline.run(["verify", "--receipt", file])
                #expect(verified.status == 0, "\(subject) \(purpose): \(verified.stdout)")
                let python = try pythonExample(file)
                #expect(python.status == 0, "\(subject) \(purpose): \(python.stdout)\(python.stderr)")
                #expect(!text.contains("@example.no") && !text.contains(Self.secret))
                documents.append(text.trimmingCharacters(in: .whitespacesAndNewlines))
                files["\(subject)-\(purpose)"] = file

                let linked = scratch.path + "/\(subject)-\(purpose).jsonld"
                let madeLinked = try ctl.run([
                    "receipt", "--subject", "\(subject)@example.no", "--purpose", purpose, "--format", "jsonld",
                    "--out", linked,
                ])
                #expect(madeLinked.status == 0, "\(madeLinked.stderr)")
                #expect(try offline.run(["verify", "--receipt", linked]).status == 0)
                let linkedText = try String(contentsOfFile: linked, encoding: .utf8)
                documents.append(linkedText.trimmingCharacters(in: .whitespacesAndNewlines))
                linkedFiles.append((linked, state, purpose))
            }
        }
        // rdflib reads each JSON-LD receipt, its context inline, and finds the DPV status.
        let statuses = try VerifierTools.runPython("dpv_status.py", linkedFiles.map(\.0))
        try #require(!statuses.stderr.contains("ModuleNotFoundError"), "rdflib is missing: \(statuses.stderr)")
        #expect(statuses.status == 0, "\(statuses.stdout)\(statuses.stderr.suffix(800))")
        let lines = statuses.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(lines.map { $0.first ?? "" } == linkedFiles.map { "https://w3id.org/dpv#" + $0.1 })
        #expect(lines.map { $0.last ?? "" } == linkedFiles.map(\.2))
        // `state --format dpv`: each subject's records in one JSON-LD document, read by rdflib.
        var stateFiles: [String] = []
        var expected: [String] = []
        for (subject, state) in Self.states {
            let stateFile = scratch.path + "/state-\(subject).jsonld"
            let output = try ctl.run(["state", "--subject", "\(subject)@example.no", "--format", "dpv"])
            #expect(output.status == 0, "\(output.stderr)")
            #expect(!output.stdout.contains("@example.no") && !output.stdout.contains(Self.secret))
            try output.stdout.write(toFile: stateFile, atomically: true, encoding: .utf8)
            stateFiles.append(stateFile)
            expected += Self.purposes.sorted().map { "https://w3id.org/dpv#\(state) \($0)" }
        }
        let stateStatuses = try VerifierTools.runPython("dpv_status.py", stateFiles)
        #expect(stateStatuses.status == 0, "\(stateStatuses.stdout)\(stateStatuses.stderr.suffix(800))")
        #expect(
            stateStatuses.stdout.split(separator: "\n").map { line in
                let words = line.split(separator: " ")
                return "\(words.first ?? "") \(words.last ?? "")"
            } == expected
        )

        let schema = VerifierTools.root + "/docs/schemas/consent-receipt.schema.json"
        let valid = try VerifierTools.runPython(
            "validate_schema.py",
            [schema],
            input: documents.joined(separator: "\n")
        )
        try #require(!valid.stderr.contains("ModuleNotFoundError"), "jsonschema is missing: \(valid.stderr)")
        #expect(valid.status == 0, "\(valid.stdout.prefix(800))\(valid.stderr.suffix(800))")
        #expect(valid.stdout.split(separator: "\n").count == documents.count)
        // With the catalogue, the record's notice must be the purpose's, text hash and all.
        let policy = scratch.path + "/catalogue.yaml"
        try ctl.run(["catalogue", "--bundled"], withLedger: false).stdout.write(
            toFile: policy,
            atomically: true,
            encoding: .utf8
        )
        let given = try #require(files["given-newsletter"])
        let withPolicy = try offline.run(["verify", "--receipt", given, "--policy", policy])
        #expect(withPolicy.status == 0, "\(withPolicy.stdout)\(withPolicy.stderr)")
        // Pinned to the key the operator publishes (`checkpoint --json`'s publicKey), the receipt
        // holds; a consistent receipt signed with any other key is refused.
        let published = try #require(
            jsonObject(try ctl.run(["checkpoint", "--json"]).stdout)?["publicKey"] as? String
        )
        let pinned = try offline.run(["verify", "--receipt", given, "--public-key", published.uppercased()])
        #expect(pinned.status == 0 && pinned.stdout.contains("signed with the public key given"), "\(pinned.stdout)")
        let otherKey = try offline.run([
            "verify", "--receipt", given, "--public-key", String(repeating: "ab", count: 32),
        ])
        #expect(otherKey.status == 1 && otherKey.stdout.contains("not the public key given"), "\(otherKey.stdout)")
        #expect(try offline.run(["verify", "--receipt", given, "--public-key", "xyz"]).status == 2)
        #expect(try offline.run(["verify", "--public-key", published]).status == 2)
        let otherText = try String(contentsOfFile: policy, encoding: .utf8).replacingOccurrences(
            of: "Activepeople sender av og til",
            with: "Activepeople sender ofte"
        )
        try otherText.write(toFile: policy, atomically: true, encoding: .utf8)
        let otherNotice = try offline.run(["verify", "--receipt", given, "--policy", policy])
        #expect(otherNotice.status == 1 && otherNotice.stdout.contains("privacy_notice"), "\(otherNotice.stdout)")

        // The subject is erased: the old receipt still verifies and reveals nothing; a new one by
        // pseudonym proves the same event; by external id the subject is gone.
        #expect(try ctl.run(["erase", "--subject", "withdrawn@example.no"]).status == 0)
        let old = try #require(files["withdrawn-newsletter"])
        #expect(try offline.run(["verify", "--receipt", old]).status == 0)
        #expect(try pythonExample(old).status == 0)
        let oldText = try String(contentsOfFile: old, encoding: .utf8)
        #expect(!oldText.contains("withdrawn@example.no") && !oldText.contains(Self.secret))
        let pseudonym = try #require(jsonObject(oldText)?["record"] as? [String: Any])["pii_principal_id"] as? String
        let after = scratch.path + "/after.json"
        let again = try ctl.run([
            "receipt", "--pseudonym", try #require(pseudonym), "--purpose", "newsletter", "--out", after,
        ])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try offline.run(["verify", "--receipt", after]).status == 0)
        let gone = try ctl.run(["receipt", "--subject", "withdrawn@example.no", "--purpose", "newsletter", "--json"])
        #expect(gone.status != 0 && gone.stdout.contains("subject_not_found"))
    }

    @Test func anyChangedValueOfTheRecordProofOrCheckpointFails() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        try seed(ctl)
        let file = scratch.path + "/receipt.json"
        #expect(
            try ctl.run([
                "receipt", "--subject", "withdrawn@example.no", "--purpose", "web-analytics", "--out", file,
            ]).status == 0
        )
        let receipt = try #require(jsonObject(try String(contentsOfFile: file, encoding: .utf8)))
        let offline = LedgerctlRunner(ledger: scratch.path + "/nowhere")
        let edited = scratch.path + "/edited.json"
        func write(_ value: [String: Any]) throws {
            try JSONSerialization.data(withJSONObject: value).write(to: URL(fileURLWithPath: edited))
        }
        // The unchanged receipt, re-serialised, verifies: every failure below is the edit's.
        try write(receipt)
        #expect(try offline.run(["verify", "--receipt", edited]).status == 0)

        var checked = 0
        for section in ["record", "exportRecord", "proof", "checkpoint"] {
            let part = try #require(receipt[section])
            for (path, changed) in Self.alterations(of: part) {
                var copy = receipt
                copy[section] = changed
                try write(copy)
                let outcome = try offline.run(["verify", "--receipt", edited])
                #expect(outcome.status == 1, "\(section)\(path) changed, yet: \(outcome.stdout)")
                #expect(outcome.stdout.hasPrefix("FAILED: "))
                checked += 1
                if path.hasSuffix("[0]") || path == ".event.event_state" || path == ".treeSize" {
                    #expect(try pythonExample(edited).status == 1, "python: \(section)\(path)")
                }
            }
        }
        // Every hex digit of every hash of the proof.
        let proof = try #require(receipt["proof"] as? [String: Any])
        let hashes = try #require(proof["hashes"] as? [String])
        #expect(!hashes.isEmpty)
        for (index, hash) in hashes.enumerated() {
            for position in hash.indices {
                var digits = hash
                digits.replaceSubrange(position...position, with: hash[position] == "0" ? "1" : "0")
                var changedProof = proof
                var changedHashes = hashes
                changedHashes[index] = digits
                changedProof["hashes"] = changedHashes
                var copy = receipt
                copy["proof"] = changedProof
                try write(copy)
                let outcome = try offline.run(["verify", "--receipt", edited])
                #expect(outcome.status == 1 && outcome.stdout.contains("inclusion proof fails"), "\(outcome.stdout)")
                checked += 1
            }
        }
        #expect(checked > 64 * hashes.count + 40)
        // And the signature itself.
        var copy = receipt
        let signature = try #require(receipt["signature"] as? String)
        copy["signature"] = (signature.first == "0" ? "1" : "0") + signature.dropFirst()
        try write(copy)
        let forged = try offline.run(["verify", "--receipt", edited])
        #expect(forged.status == 1 && forged.stdout.contains("receipt signature"))
        #expect(try pythonExample(edited).status == 1)

        // The date the state is given for is signed: moved, a later or an earlier asOf fails; so
        // does a part no receipt has.
        for asOf in ["2099-01-01T00:00:00.000Z", "2000-01-01T00:00:00.000Z"] {
            var moved = receipt
            moved["asOf"] = asOf
            try write(moved)
            #expect(try offline.run(["verify", "--receipt", edited]).status == 1, "asOf \(asOf)")
            #expect(try pythonExample(edited).status == 1, "python: asOf \(asOf)")
        }
        var extra = receipt
        extra["note"] = "added"
        try write(extra)
        #expect(try offline.run(["verify", "--receipt", edited]).status == 1)
        #expect(try pythonExample(edited).status == 1)
        // A key given twice: the Python example refuses it (json would keep the last).
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let doubled = text.replacingOccurrences(
            of: #""kind":"consent-receipt""#,
            with: #""kind":"x","kind":"consent-receipt""#
        )
        #expect(doubled != text)
        try doubled.write(toFile: edited, atomically: true, encoding: .utf8)
        #expect(try pythonExample(edited).status == 1)
        #expect(try offline.run(["verify", "--receipt", edited]).status == 1)
        // A receipt for a date to come is refused: it would state what does not hold yet.
        let future = try ctl.run([
            "receipt", "--subject", "withdrawn@example.no", "--purpose", "web-analytics", "--as-of",
            "2099-01-01T00:00:00Z", "--json",
        ])
        #expect(future.status == 2 && future.stdout.contains("invalid_field"), "\(future.stdout)")
    }

    /// The JSON-LD form's signature covers its @context: a context that maps a status to another
    /// term, or any other change of it, fails both verifiers.
    @Test func aChangedJSONLDContextFails() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        try seed(ctl)
        let file = scratch.path + "/receipt.jsonld"
        #expect(
            try ctl.run([
                "receipt", "--subject", "withdrawn@example.no", "--purpose", "web-analytics", "--format", "jsonld",
                "--out", file,
            ]).status == 0
        )
        let offline = LedgerctlRunner(ledger: scratch.path + "/nowhere")
        #expect(try offline.run(["verify", "--receipt", file]).status == 0)
        #expect(try pythonExample(file).status == 0)
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let swapped = text.replacingOccurrences(
            of: #""ConsentWithdrawn":"dpv:ConsentWithdrawn""#,
            with: #""ConsentWithdrawn":"dpv:ConsentGiven""#
        )
        #expect(swapped != text, "the context maps ConsentWithdrawn as expected")
        let edited = scratch.path + "/edited.jsonld"
        try swapped.write(toFile: edited, atomically: true, encoding: .utf8)
        let refused = try offline.run(["verify", "--receipt", edited])
        #expect(refused.status == 1 && refused.stdout.contains("receipt signature"), "\(refused.stdout)")
        #expect(try pythonExample(edited).status == 1)
        // The JSON-LD form's signature is not the JSON form's: the context dropped, it fails too.
        var object = try #require(jsonObject(text))
        object.removeValue(forKey: "@context")
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: edited))
        #expect(try offline.run(["verify", "--receipt", edited]).status == 1)
    }

    /// Each string and number leaf of `value` changed in turn: a string's first character replaced
    /// (an empty one made non-empty), a number increased by one; with the leaf's path.
    static func alterations(of value: Any, path: String = "") -> [(String, Any)] {
        if let object = value as? [String: Any] {
            return object.keys.sorted().flatMap { key in
                alterations(of: object[key] ?? NSNull(), path: path + "." + key).map { inner, changed in
                    var copy = object
                    copy[key] = changed
                    return (inner, copy as Any)
                }
            }
        }
        if let array = value as? [Any] {
            return array.indices.flatMap { index in
                alterations(of: array[index], path: path + "[\(index)]").map { inner, changed in
                    var copy = array
                    copy[index] = changed
                    return (inner, copy as Any)
                }
            }
        }
        if let text = value as? String {
            guard let first = text.first else { return [(path, "0")] }
            return [(path, String(first == "0" ? "1" : (first == "a" ? "b" : "0")) + text.dropFirst())]
        }
        if let number = value as? Int { return [(path, number + 1)] }
        return []
    }

    @Test func badRequestsAreRefusedWithStableCodes() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        try seed(ctl)
        let cases: [([String], String)] = [
            (["--subject", "nobody@example.no", "--purpose", "newsletter"], "subject_not_found"),
            (["--pseudonym", String(repeating: "0", count: 32), "--purpose", "newsletter"], "subject_not_found"),
            (["--subject", "given@example.no", "--purpose", "no-such-purpose"], "unknown_purpose"),
            (["--subject", "given@example.no", "--purpose", "orders-quotes"], "not_found"),
            (["--subject", "given@example.no", "--purpose", "newsletter", "--as-of", Self.day(-1)], "not_found"),
            (["--subject", "given@example.no", "--purpose", "newsletter", "--as-of", "yesterday"], "invalid_field"),
        ]
        for (arguments, code) in cases {
            let outcome = try ctl.run(["receipt", "--json"] + arguments)
            #expect(outcome.status == 2 || outcome.status == 3, "\(arguments): \(outcome.status)")
            #expect(
                jsonObject(outcome.stdout).flatMap { ($0["error"] as? [String: Any])?["code"] as? String } == code
                    || outcome.stdout.contains(#""\#(code)""#),
                "\(arguments): \(outcome.stdout)\(outcome.stderr)"
            )
            #expect(!outcome.stdout.contains("@example.no") && !outcome.stderr.contains("@example.no"))
        }
    }
}
