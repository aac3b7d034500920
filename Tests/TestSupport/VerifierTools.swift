import Foundation

/// The verifiers the project did not write, which the tests run on its output
/// (`Tests/Verifiers/`): Go's `golang.org/x/mod/sumdb/tlog` (through `tlogcheck`, built here from
/// Debian's golang-golang-x-mod-dev with no network) and pymerkle (PyPI, in the virtual
/// environment `scripts/install-test-deps` makes under `.build/test-tools`).
public enum VerifierTools {
    /// The package's root directory.
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The Python with pymerkle and jsonschema: `.build/test-tools/venv`'s, else the `python3` on
    /// the path.
    public static var python: String {
        let venv = root + "/.build/test-tools/venv/bin/python3"
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "python3"
    }

    /// Runs the Python script `script` (a path under `Tests/Verifiers`) with ``python``.
    public static func runPython(_ script: String, _ arguments: [String] = [], input: String = "") throws -> Outcome {
        try run("/usr/bin/env", [python, root + "/Tests/Verifiers/" + script] + arguments, input: input)
    }

    /// Writing to a tool that has exited fails with EPIPE instead of killing the test process.
    private static let ignoringBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// A tool's exit status, standard output and standard error.
    public struct Outcome: Sendable {
        /// The exit status.
        public let status: Int32
        /// What it wrote to standard output.
        public let stdout: String
        /// What it wrote to standard error.
        public let stderr: String
    }

    /// Runs `executable` with `arguments`, `input` on its standard input.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        input: String = "",
        environment: [String: String] = [:],
        directory: String? = nil
    ) throws -> Outcome {
        _ = ignoringBrokenPipes
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Written and read on other threads: a large input or output would fill a pipe otherwise.
        let group = DispatchGroup()
        let output = Locked(Data())
        let errors = Locked(Data())
        DispatchQueue.global().async(group: group) {
            // A tool that exits before reading all of its input (a missing module, a refusal)
            // leaves the rest unwritten: its exit status and output tell what happened.
            try? stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
        DispatchQueue.global().async(group: group) {
            output.set(stdout.fileHandleForReading.readDataToEndOfFile())
        }
        DispatchQueue.global().async(group: group) {
            errors.set(stderr.fileHandleForReading.readDataToEndOfFile())
        }
        group.wait()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus,
            stdout: String(decoding: output.get(), as: UTF8.self),
            stderr: String(decoding: errors.get(), as: UTF8.self)
        )
    }

    /// Builds `Tests/Verifiers/tlogcheck` into `directory` with Debian's Go and x/mod, offline.
    /// - Returns: The binary's path.
    public static func buildTlogcheck(into directory: String) throws -> Outcome {
        try run(
            "/usr/bin/env",
            ["go", "build", "-o", directory + "/tlogcheck", "."],
            environment: [
                "GOPROXY": "off", "GOSUMDB": "off", "GOFLAGS": "-mod=mod", "GO111MODULE": "on",
                "GOCACHE": root + "/.build/test-tools/gocache", "GOPATH": root + "/.build/test-tools/gopath",
            ],
            directory: root + "/Tests/Verifiers/tlogcheck"
        )
    }

    /// A value shared between threads.
    private final class Locked<Value>: @unchecked Sendable {
        // Invariant: `value` is only touched under `lock`.
        private var value: Value
        private let lock = NSLock()
        init(_ value: Value) { self.value = value }
        func set(_ new: Value) {
            lock.lock()
            value = new
            lock.unlock()
        }
        func get() -> Value {
            lock.lock()
            defer { lock.unlock() }
            return value
        }
    }
}
