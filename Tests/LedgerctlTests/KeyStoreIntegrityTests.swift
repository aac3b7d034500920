import Foundation
import Testing

/// A ledger refuses a key store that is missing, damaged or does not match its log (SPEC §3),
/// and never makes a fresh one; an auditor's copy without the master key still verifies (SPEC §8).
@Suite(.serialized)
struct KeyStoreIntegrityTests {
    /// A ledger with three subjects appended in three commits.
    private func ledgerWithSubjects(_ scratch: Scratch) throws -> LedgerctlRunner {
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        try #require(try ctl.run(["init"]).status == 0)
        for name in ["ada", "bo", "cy"] {
            try #require(
                try ctl.run([
                    "append", "--type", "consent.granted", "--subject", "\(name)@example.com", "--purpose",
                    "newsletter", "--notice", "policy-v1", "--data", #"{"who":"\#(name)"}"#,
                ]).status == 0
            )
        }
        return ctl
    }

    private func keysFile(_ ctl: LedgerctlRunner) -> String { ctl.ledger + "/keys/data.mdb" }

    private func code(_ outcome: LedgerctlRunner.Outcome) -> String? {
        (jsonObject(outcome.stdout)?["error"] as? [String: Any])?["code"] as? String
    }

    @Test func aRemovedKeyStoreIsRefusedAndNeverRecreated() throws {
        let scratch = Scratch()
        let ctl = try ledgerWithSubjects(scratch)
        try FileManager.default.removeItem(atPath: ctl.ledger + "/keys")
        for command in [["stats", "--json"], ["history", "--json", "--subject", "ada@example.com"]] {
            let refused = try ctl.run(command)
            #expect(refused.status == 3, "\(command)")
            #expect(code(refused) == "key_missing", "\(command)")
        }
        let append = try ctl.run([
            "append", "--json", "--type", "access.requested", "--subject", "ada@example.com",
        ])
        #expect(append.status == 3)
        #expect(code(append) == "key_missing")
        #expect(!FileManager.default.fileExists(atPath: ctl.ledger + "/keys"), "no fresh key store was made")
        #expect(try ctl.run(["export"]).status == 3, "a ledger with a master key but no key store is refused")
    }

    @Test func anEmptiedKeyStoreIsRefused() throws {
        let scratch = Scratch()
        let ctl = try ledgerWithSubjects(scratch)
        #expect(truncate(keysFile(ctl), 0) == 0)
        let refused = try ctl.run(["append", "--json", "--type", "access.requested", "--subject", "ada@example.com"])
        #expect(refused.status == 3)
        #expect(code(refused) == "key_missing")
        #expect(refused.stdout.contains("backup"), "the message says how to recover")
    }

    @Test func anOlderKeyStoreIsRefusedAndLeftUntouched() throws {
        let scratch = Scratch()
        let ctl = try ledgerWithSubjects(scratch)
        let old = scratch.path + "/old-keys"
        try FileManager.default.copyItem(atPath: ctl.ledger + "/keys", toPath: old)
        try #require(
            try ctl.run([
                "append", "--type", "consent.granted", "--subject", "dee@example.com", "--purpose", "newsletter",
                "--notice", "policy-v1",
            ]).status == 0
        )
        try FileManager.default.removeItem(atPath: ctl.ledger + "/keys")
        try FileManager.default.copyItem(atPath: old, toPath: ctl.ledger + "/keys")
        let before = FileManager.default.contents(atPath: keysFile(ctl))
        let refused = try ctl.run(["append", "--json", "--type", "access.requested", "--subject", "dee@example.com"])
        #expect(refused.status == 3)
        #expect(code(refused) == "ledger_corrupt")
        #expect(FileManager.default.contents(atPath: keysFile(ctl)) == before, "nothing was written to the store")
    }

    /// Damage to the key store's meta pages (the txnid of page 1 at offset 4240, and of page 0 at
    /// 144): every command either refuses with exit 3 or works with every subject intact, and none
    /// dies by a signal.
    @Test(arguments: [(4240, 1), (4240, 8), (144, 1), (144, 8)])
    func damagedMetaPagesNeverLoseSubjectsOrCrash(offset: Int, length: Int) throws {
        let scratch = Scratch()
        let ctl = try ledgerWithSubjects(scratch)
        let handle = try #require(FileHandle(forUpdatingAtPath: keysFile(ctl)))
        try handle.seek(toOffset: UInt64(offset))
        let original = try #require(try handle.read(upToCount: length))
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: Data(original.map { length == 1 ? $0 ^ 0x5A : 0xFF }))
        try handle.close()
        let append = try ctl.run([
            "append", "--json", "--type", "consent.granted", "--subject", "eve@example.com", "--purpose", "newsletter",
            "--notice", "policy-v1",
        ])
        #expect([0, 3].contains(append.status), "exit \(append.status): \(append.stderr)")
        for name in ["ada", "bo", "cy"] {
            let history = try ctl.run(["history", "--json", "--subject", "\(name)@example.com"])
            #expect([0, 3].contains(history.status), "exit \(history.status): \(history.stderr)")
            if append.status == 0 {
                #expect(history.status == 0, "\(name) was lost")
                #expect(history.stdout.contains(#""who":"\#(name)""#))
            }
        }
        let verify = try ctl.run(["verify"])
        #expect([0, 1, 3].contains(verify.status))
    }

    @Test func aBackupWithoutTheMasterKeyServesEveryAuditorCommand() throws {
        let scratch = Scratch()
        let ctl = try ledgerWithSubjects(scratch)
        let erased = try ctl.run(["erase", "--json", "--subject", "bo@example.com"])
        try #require(erased.status == 0)
        let pseudonym = try #require(jsonObject(erased.stdout)?["pseudonym"] as? String)
        let backup = scratch.path + "/backup"
        try #require(try ctl.run(["backup", backup]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: backup + "/master.key"))
        let auditor = LedgerctlRunner(ledger: backup)
        let verify = try auditor.run(["verify", "--json"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(jsonObject(verify.stdout)?["ok"] as? Bool == true)
        for command in [
            ["export"], ["log"], ["checkpoint", "--json"], ["stats", "--json"], ["replay"],
            ["prove", "--pseudonym", pseudonym], ["state", "--json"], ["purposes"], ["requests"],
            ["history", "--json", "--pseudonym", pseudonym],
        ] {
            let outcome = try auditor.run(command)
            #expect(outcome.status == 0, "\(command): \(outcome.stderr)")
        }
        let checkpoint = scratch.path + "/checkpoint.json"
        try auditor.run(["checkpoint", "--json"]).stdout.write(toFile: checkpoint, atomically: true, encoding: .utf8)
        #expect(try auditor.run(["verify", "--checkpoint", checkpoint]).status == 0)
        // What needs the key says so, and changes nothing.
        for command in [
            ["append", "--json", "--type", "access.requested", "--subject", "ada@example.com"],
            ["history", "--json", "--subject", "ada@example.com"],
        ] {
            let refused = try auditor.run(command)
            #expect(refused.status == 3, "\(command)")
            #expect(code(refused) == "key_missing", "\(command)")
        }
        #expect(jsonObject(try auditor.run(["verify", "--json"]).stdout)?["events"] as? Int == 4)
    }
}
