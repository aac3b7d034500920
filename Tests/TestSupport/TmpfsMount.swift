import Foundation

/// A small tmpfs mounted on a fresh temporary directory and unmounted when dropped, for tests of a
/// full disk. Tests that need one are enabled only where ``isPermitted`` (mounting needs root or
/// CAP_SYS_ADMIN). Both test targets use it, through the `TestSupport` target.
public final class TmpfsMount {
    /// The mount point.
    public let path: String

    /// Mounts a tmpfs of `size` (mount's notation, such as `20m`); `nil` when mounting is refused.
    public init?(size: String) {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("tmpfs-\(UUID().uuidString)").path
        guard (try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)) != nil,
            Self.run("mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0700", "tmpfs", path])
        else {
            try? FileManager.default.removeItem(atPath: path)
            return nil
        }
    }

    deinit {
        _ = Self.run("umount", ["-l", path])
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Whether this process may mount a tmpfs (tried once).
    public static let isPermitted: Bool = TmpfsMount(size: "1m") != nil

    /// Bytes free for unprivileged writers on the filesystem holding `path`.
    public static func freeBytes(at path: String) -> Int {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return 0 }
        return Int(stats.f_bavail) * Int(stats.f_frsize)
    }

    /// Fills the filesystem holding `file`'s directory until `leaving` bytes or fewer are free.
    public static func fill(_ file: String, leaving: Int) {
        let directory = (file as NSString).deletingLastPathComponent
        _ = FileManager.default.createFile(atPath: file, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: file) else { return }
        defer { try? handle.close() }
        let chunk = Data(count: 1 << 16)
        while freeBytes(at: directory) > leaving + chunk.count {
            guard (try? handle.write(contentsOf: chunk)) != nil else { return }
        }
    }

    private static func run(_ tool: String, _ arguments: [String]) -> Bool {
        guard let executable = ["/usr/bin/" + tool, "/bin/" + tool].first(where: FileManager.default.isExecutableFile)
        else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
