import Foundation
import Testing

/// The guides' commands, run as written: every ```sh block of docs/AUDITING.md and
/// docs/OPERATIONS.md, in order, so the guides cannot rot.
@Suite(.serialized)
struct GuideTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func shellBlocks(of guide: String) throws -> String {
        let text = try String(contentsOf: repository.appendingPathComponent(guide), encoding: .utf8)
        var blocks: [String] = []
        var current: [String]?
        for line in text.components(separatedBy: "\n") {
            if current == nil, line == "```sh" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append(current?.joined(separator: "\n") ?? "")
                current = nil
            } else if current != nil {
                current?.append(line)
            }
        }
        return blocks.joined(separator: "\n")
    }

    @Test(arguments: ["docs/AUDITING.md", "docs/OPERATIONS.md"])
    func theGuidesCommandsRunAsWritten(guide: String) throws {
        let scratch = Scratch()
        let script = try Self.shellBlocks(of: guide)
        #expect(script.contains("ledgerctl"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-euo", "pipefail", "-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: scratch.path)
        var environment = ProcessInfo.processInfo.environment
        let binaries = URL(fileURLWithPath: LedgerctlRunner.binary).deletingLastPathComponent().path
        environment["PATH"] = binaries + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["LEDGER_DIR"] = scratch.path + "/ledger"
        environment["REPO"] = Self.repository.path
        environment.removeValue(forKey: "LEDGER_MASTER_KEY_FILE")
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(guide) failed:\n\(output.suffix(2_000))")
    }
}
