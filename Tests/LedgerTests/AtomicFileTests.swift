import Foundation
import Testing

@testable import Ledger

/// Small files replaced whole in one rename.
struct AtomicFileTests {
    /// A symbolic link at the file's name, or at the temporary name beside it that this process
    /// writes (`<name>.<pid>.tmp`), is replaced, never followed: the file becomes a regular file
    /// with the new bytes and mode, the link's target keeps its bytes and mode, and a dangling
    /// link's target is not created.
    @Test func aLinkAtTheNameOrAtTheTemporaryIsReplacedAndItsTargetLeftUntouched() throws {
        let directory = TemporaryDirectory()
        let targets = try LinkTargets(in: directory.path)
        let path = directory.path + "/status.json"
        let temporary = path + ".\(getpid()).tmp"
        for destination in targets.destinations {
            for planted in [path, temporary] {
                try targets.plant(at: planted, to: destination)
                try AtomicFile.replace(path, with: Array("new".utf8), mode: 0o600, name: "the status file")
                #expect(!isLink(path) && !isLink(temporary))
                #expect(FileManager.default.contents(atPath: path) == Data("new".utf8))
                let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
                #expect(mode == 0o600)
                #expect(!FileManager.default.fileExists(atPath: temporary))
            }
        }
        #expect(try targets.untouched())
    }
}
