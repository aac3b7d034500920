import Foundation
import TestSupport
import Testing

/// `ledgerctl export --tiles DIR [--tree-size N]` and the server's `GET /tile/…`: the files the
/// command writes are what the server answers for the same paths, Go's `sumdb/tlog` reads them
/// (`tlogcheck -tiles`), and bad arguments and foreign directories are refused with stable codes.
@Suite(.serialized)
struct TileExportTests {
    private func importEvents(_ ctl: LedgerctlRunner, _ count: Int, prefix: String, scratch: Scratch) throws {
        let lines = (0..<count).map { #"{"type":"access.requested","subject":"\#(prefix)\#($0 % 23)@example.no"}"# }
        let path = scratch.path + "/\(prefix).ndjson"
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ctl.run(["import", path]).status == 0)
    }

    /// Every regular file below `root`, by its path relative to it.
    private func files(under root: String) -> [String: Data] {
        var found: [String: Data] = [:]
        for case let relative as String in FileManager.default.enumerator(atPath: root) ?? .init() {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &isDirectory),
                !isDirectory.boolValue
            {
                found[relative] = FileManager.default.contents(atPath: root + "/" + relative)
            }
        }
        return found
    }

    @Test func theServerAnswersEveryTileAsTheCommandWroteItAndGoReadsThem() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["init"]).status == 0)
        try importEvents(ctl, 700, prefix: "a", scratch: scratch)
        let tiles = scratch.path + "/tiles"
        let first = try ctl.run(["export", "--tiles", tiles, "--tree-size", "300", "--json"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(jsonObject(first.stdout)?["treeSize"] as? Int == 300)
        #expect(jsonObject(first.stdout)?["written"] as? Int == 7)
        let second = try ctl.run(["export", "--tiles", tiles, "--json"])
        #expect(second.status == 0, "\(second.stderr)")
        let summary = try #require(jsonObject(second.stdout))
        #expect(summary["treeSize"] as? Int == 700 && summary["kept"] as? Int == 3)
        let people = try ctl.run(["export", "--tiles", tiles])
        #expect(people.stdout.contains("The tree of 700 events written to \(tiles)"), "\(people.stdout)")
        let checkpoint = try #require(jsonObject(try ctl.run(["checkpoint"]).stdout))
        #expect(summary["rootHash"] as? String == checkpoint["rootHash"] as? String)

        let built = try VerifierTools.buildTlogcheck(into: scratch.path)
        try #require(built.status == 0, "tlogcheck did not build (scripts/install-test-deps): \(built.stderr)")
        let key = try ctl.run(["checkpoint", "--format", "verifier-key"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let checked = try VerifierTools.run(scratch.path + "/tlogcheck", ["-tiles", tiles, "-note", key])
        #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        #expect(checked.stdout.hasPrefix("OK consentledger/") && checked.stdout.contains(" 700 "), "\(checked.stdout)")

        try FileManager.default.createDirectory(atPath: scratch.path + "/run", withIntermediateDirectories: true)
        let server = try TestServer(ledger: ctl.ledger, socket: scratch.path + "/run/ledger.sock")
        let written = files(under: tiles)
        // The tiles of both trees: 700's, and the partial ones 300's left.
        #expect(written.keys.filter { $0.hasPrefix("tile/") }.count == 8 + 2)
        for (path, bytes) in written where path.hasPrefix("tile/") {
            let reply = try server.client.send(method: "GET", path: "/" + path)
            #expect(reply.status == 200, "\(path): \(reply.text)")
            #expect(Data(reply.body) == bytes, "\(path)")
        }
        // GET /checkpoint is the head's note: the same text as the directory's checkpoint.
        let served = try server.client.send(method: "GET", path: "/checkpoint")
        let stored = try String(contentsOfFile: tiles + "/checkpoint", encoding: .utf8)
        #expect(
            served.text.split(separator: "\n").prefix(3) == stored.split(separator: "\n").prefix(3),
            "\(served.text)"
        )
        for (path, status, code) in [
            ("/tile/0/003", 404, "not_found"), ("/tile/entries/002.p/189", 404, "not_found"),
            ("/tile/x/1", 400, "invalid_field"), ("/tile/0/x1000/..", 400, "invalid_field"),
            ("/tile/0/000.p/256", 400, "invalid_field"), ("/tile/0/000.p/0", 400, "invalid_field"),
            ("/tile/0/x999/x999/x999/x999/x999/x999/x999/999", 400, "invalid_field"),
        ] {
            let reply = try server.call("GET", path)
            #expect(reply.status == status, "\(path)")
            #expect(errorCode(reply.json) == code, "\(path): \(reply.text)")
        }
        #expect(server.stop() == 0)
    }

    @Test func badArgumentsAndForeignDirectoriesAreRefusedWithStableCodes() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["init"]).status == 0)
        try importEvents(ctl, 20, prefix: "a", scratch: scratch)
        let other = LedgerctlRunner(ledger: scratch.path + "/other")
        #expect(try other.run(["init"]).status == 0)
        try importEvents(other, 10, prefix: "o", scratch: scratch)
        let theirs = scratch.path + "/theirs"
        #expect(try other.run(["export", "--tiles", theirs]).status == 0)
        let before = files(under: theirs)

        let foreign = try ctl.run(["export", "--json", "--tiles", theirs])
        #expect(foreign.status == 2, "\(foreign.stdout)\(foreign.stderr)")
        #expect(foreign.stdout.contains("invalid_field") && foreign.stdout.contains("another log"), "\(foreign.stdout)")
        #expect(files(under: theirs) == before)
        let beyond = try ctl.run(["export", "--json", "--tiles", scratch.path + "/beyond", "--tree-size", "21"])
        #expect(beyond.status == 2 && beyond.stdout.contains("invalid_field"), "\(beyond.stdout)")
        for arguments in [["--tree-size", "3"], ["--tiles", scratch.path + "/t", "--after", "2"]] {
            #expect(try ctl.run(["export"] + arguments).status == 2, "\(arguments)")
        }
        let help = try ctl.run(["export", "--help"], withLedger: false)
        let helpText = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(
            helpText.contains("each entry the event's 32-byte hash, whose leaf is SHA-256(0x00 ‖ entry)"),
            "\(help.stdout)"
        )
        #expect(helpText.contains("never an external id or plaintext"), "\(help.stdout)")
        #expect(help.stdout.contains("--tiles <dir>") && help.stdout.contains("--tree-size <n>"))
    }
}
