import Foundation
import Testing

/// Long runs show progress on standard error only when it is a terminal (SPEC §8).
@Suite(.serialized)
struct ProgressTests {
    @Test func progressAppearsOnATerminalAndNotInAPipe() throws {
        let scratch = Scratch()
        let ctl = LedgerctlRunner(ledger: scratch.path + "/ledger")
        #expect(try ctl.run(["init"]).status == 0)
        let lines = (0..<30_000).map { #"{"type":"access.requested","subject":"p\#($0 % 1000)@example.no"}"# }
        let file = scratch.path + "/events.ndjson"
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)

        let piped = try ctl.run(["import", file])
        #expect(piped.status == 0)
        #expect(!piped.stderr.contains("import:"))

        // `script` gives the command a pseudo-terminal; its output is the terminal's.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        let command = "\(LedgerctlRunner.binary) import --ledger \(scratch.path)/ledger \(file)"
        process.arguments = ["-q", "-e", "-c", command, "/dev/null"]
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let terminal = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(terminal.contains("import:"))
        #expect(terminal.contains("s left"))
        #expect(terminal.contains("bytes/s"))
    }
}
