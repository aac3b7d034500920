import Crypto
import Foundation
import GoldenFixture
import Testing

@testable import Ledger

/// A temporary directory removed when the value is dropped (one fresh ledger per test).
final class TemporaryDirectory {
    let path: String

    init() {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-tests-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var ledger: String { path + "/ledger" }
}

/// A clock the test sets; it can step back to check that recordedAt never decreases.
final class ManualClock: LedgerClock, @unchecked Sendable {
    // Invariant: `current` is only touched under `lock`.
    private var current: Timestamp
    private let lock = NSLock()

    init(_ start: String = "2026-03-01T10:00:00.000Z") {
        current = Timestamp(rfc3339: start) ?? Timestamp(milliseconds: 0)
    }

    func now() -> Timestamp {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    func set(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        current = Timestamp(rfc3339: text) ?? current
    }

    func advance(milliseconds: Int64) {
        lock.lock()
        defer { lock.unlock() }
        current = Timestamp(milliseconds: current.milliseconds + milliseconds)
    }
}

enum Fixture {
    /// A data file of `Tests/Fixtures/` (copied into the repository; provenance in its README.md).
    static func file(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(name)
    }

    static func options(clock: ManualClock = ManualClock(), seed: String = "test") -> Ledger.Options {
        Ledger.Options(clock: clock, random: SeededRandom(seed: seed))
    }

    /// Opens a bare LMDB environment with `tables` under `directory`, its map fixed at `mapSize`.
    static func environment(
        in directory: TemporaryDirectory,
        named name: String = "env",
        tables: [String],
        mapSize: Int = 1 << 20
    ) throws -> Environment {
        try Environment(
            path: directory.path + "/" + name,
            tables: tables,
            configuration: .init(initialMapSize: mapSize, mapCeiling: mapSize)
        )
    }

    /// Creates a ledger with the bundled catalogue in a fresh directory, with a snapshot every
    /// `snapshotInterval` events.
    static func ledger(
        in directory: TemporaryDirectory,
        snapshotInterval: UInt64 = Ledger.defaultSnapshotInterval,
        options: Ledger.Options = options()
    ) throws -> Ledger {
        try Ledger.create(at: directory.ledger, catalogue: nil, snapshotInterval: snapshotInterval, options: options)
            .ledger
    }

    /// Decodes a client event from JSON text against the bundled catalogue.
    static func event(_ json: String, catalogue: Catalogue? = nil) throws -> ClientEvent {
        try ClientEvent.decode(json: Array(json.utf8), catalogue: catalogue ?? Catalogue.bundled())
    }

    static func grant(_ subject: String, _ purpose: String = "newsletter", extra: String = "") throws -> ClientEvent {
        try event(
            #"{"type":"consent.granted","subject":"\#(subject)","purpose":"\#(purpose)","notice":"policy-v1"\#(extra)}"#
        )
    }

    /// The export of the whole log as text.
    static func export(_ ledger: Ledger) throws -> String {
        var lines: [String] = []
        try ledger.forEachEvent { event in
            lines.append(event.exportRecord.serialized)
            return true
        }
        return lines.map { $0 + "\n" }.joined()
    }

    /// Every regular file below `path` whose bytes contain `needle`.
    static func filesContaining(_ needle: String, under path: String) -> [String] {
        filesContaining(bytes: Array(needle.utf8), under: path)
    }

    /// Every regular file below `path` whose bytes contain `bytes`.
    static func filesContaining(bytes: [UInt8], under path: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: path) else { return [] }
        var hits: [String] = []
        for case let relative as String in walker {
            let full = path + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue,
                let data = FileManager.default.contents(atPath: full)
            else { continue }
            if Array(data).firstRange(of: bytes) != nil { hits.append(relative) }
        }
        return hits
    }

    /// Which of `needles` (each at least 4 bytes) some regular file below `path` contains, read
    /// in one pass per file: for scans of thousands of erased subjects' bytes.
    static func needlesFound(_ needles: [[UInt8]], under path: String) -> Set<Int> {
        var byPrefix: [UInt32: [Int]] = [:]
        for (index, needle) in needles.enumerated() where needle.count >= 4 {
            byPrefix[needle[0..<4].reduce(0) { $0 << 8 | UInt32($1) }, default: []].append(index)
        }
        var found: Set<Int> = []
        guard let walker = FileManager.default.enumerator(atPath: path) else { return found }
        for case let relative as String in walker {
            let full = path + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue,
                let data = FileManager.default.contents(atPath: full), data.count >= 4
            else { continue }
            data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
                var window: UInt32 = bytes[0..<3].reduce(0) { $0 << 8 | UInt32($1) }
                for end in 3..<bytes.count {
                    window = window << 8 | UInt32(bytes[end])
                    guard let candidates = byPrefix[window] else { continue }
                    let start = end - 3
                    for index in candidates where !found.contains(index) {
                        let needle = needles[index]
                        if start + needle.count <= bytes.count,
                            needle.indices.allSatisfy({ bytes[start + $0] == needle[$0] })
                        {
                            found.insert(index)
                        }
                    }
                }
            }
        }
        return found
    }
}

/// Runs `body` and returns the code of the ``LedgerError`` it throws.
func errorCode(_ body: () throws -> Void) -> LedgerError.Code? {
    do {
        try body()
        return nil
    } catch let error as LedgerError {
        return error.code
    } catch {
        return LedgerError.Code(rawValue: "unexpected: \(error)")
    }
}

/// What a planted symbolic link points to in a test of a link that must not be followed: an
/// existing file (`keep me`, mode 0644) and a name where nothing is.
struct LinkTargets {
    let existing: String
    let missing: String

    /// Makes the existing target in `directory` (which must exist).
    init(in directory: String) throws {
        existing = directory + "/victim"
        missing = directory + "/not-there"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: existing))
        guard chmod(existing, 0o644) == 0 else { throw LedgerError(.ioError, "cannot chmod \(existing)") }
    }

    /// The two destinations a test plants a link to, one after the other.
    var destinations: [String] { [existing, missing] }

    /// Plants a symbolic link at `path` to `destination`, replacing whatever is there.
    func plant(at path: String, to destination: String) throws {
        unlink(path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: destination)
    }

    /// Whether the existing target kept its bytes and mode and the missing one was not created.
    func untouched() throws -> Bool {
        let mode = try FileManager.default.attributesOfItem(atPath: existing)[.posixPermissions] as? Int
        return FileManager.default.contents(atPath: existing) == Data("keep me".utf8) && mode == 0o644
            && !FileManager.default.fileExists(atPath: missing)
    }
}

/// Whether a symbolic link is at `path` (not following it).
func isLink(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK
}
