import Foundation
import Testing

/// Runs the built `ledgerctl` as a subprocess, as argument-parser's `AssertExecuteCommand` does.
struct LedgerctlRunner {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
        /// Whether the process died by a signal (`status` is then the signal's number).
        var signalled = false
    }

    /// The `ledgerctl` binary beside the test bundle.
    static var binary: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundle, bundle.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("ledgerctl").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        for bundleURL in Bundle.allBundles.map(\.bundleURL) {
            let path = bundleURL.deletingLastPathComponent().appendingPathComponent("ledgerctl").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return bundle.appendingPathComponent("ledgerctl").path
    }

    let ledger: String

    /// Runs `ledgerctl` with `arguments` (and `--ledger` unless told not to) and waits for it.
    @discardableResult
    func run(
        _ arguments: [String],
        withLedger: Bool = true,
        stdin: String? = nil,
        environment extra: [String: String] = [:]
    ) throws -> Outcome {
        let process = try start(arguments, withLedger: withLedger, stdin: stdin, environment: extra)
        return process.wait()
    }

    func start(
        _ arguments: [String],
        withLedger: Bool = true,
        stdin: String? = nil,
        environment extra: [String: String] = [:]
    ) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments + (withLedger ? ["--ledger", ledger] : [])
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "LEDGER_DIR")
        environment.removeValue(forKey: "LEDGER_MASTER_KEY_FILE")
        environment.removeValue(forKey: "LEDGER_FAILPOINT")
        environment.removeValue(forKey: "LEDGER_PAUSEPOINT")
        environment.merge(extra) { _, new in new }
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        return Running(process: process, out: out, err: err)
    }

    struct Running {
        let process: Process
        let out: Pipe
        let err: Pipe

        func wait() -> Outcome {
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            // A death by signal is 128 + the signal, as a shell reports it, so it never reads as
            // one of ledgerctl's own exit codes (SIGINT is 2, SIGQUIT 3).
            let signalled = process.terminationReason == .uncaughtSignal
            return Outcome(
                status: signalled ? 128 + process.terminationStatus : process.terminationStatus,
                stdout: String(decoding: stdout, as: UTF8.self),
                stderr: String(decoding: stderr, as: UTF8.self),
                signalled: process.terminationReason == .uncaughtSignal
            )
        }
    }
}

/// A temporary directory removed when the value is dropped.
final class Scratch {
    let path: String
    init() {
        path =
            FileManager.default.temporaryDirectory.appendingPathComponent("ledgerctl-tests-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Parses one line of JSON output into a dictionary.
func jsonObject(_ text: String) -> [String: Any]? {
    try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
}
