import Foundation
import Ledger
import Testing

@testable import LedgerServer

/// The server's guard on `<ledger>/server.lock`.
struct ServerGuardTests {
    /// A symbolic link planted at `server.lock`, to an existing file or to nothing, is refused with
    /// `io_error`, never followed: the file it names keeps its bytes and mode, or is not created.
    /// A FIFO there is refused too, not waited on.
    @Test func aLinkAtTheServerLockIsRefusedAndNotFollowed() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("guard-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let victim = path + "/victim"
        let missing = path + "/not-there"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: victim))
        #expect(chmod(victim, 0o644) == 0)
        for target in [victim, missing] {
            unlink(path + "/server.lock")
            try FileManager.default.createSymbolicLink(atPath: path + "/server.lock", withDestinationPath: target)
            do {
                _ = try ServerGuard(ledgerDirectory: path, socketPath: path + "/ledger.sock")
                Issue.record("the guard followed a linked server.lock")
            } catch let error as LedgerError {
                #expect(error.code == .ioError && error.message.contains("symbolic link"))
            }
        }
        #expect(!FileManager.default.fileExists(atPath: missing))
        #expect(FileManager.default.contents(atPath: victim) == Data("keep me".utf8))
        #expect(try FileManager.default.attributesOfItem(atPath: victim)[.posixPermissions] as? Int == 0o644)
        unlink(path + "/server.lock")
        #expect(mkfifo(path + "/server.lock", 0o600) == 0)
        let fifo = try #require(throws: LedgerError.self) {
            _ = try ServerGuard(ledgerDirectory: path, socketPath: path + "/ledger.sock")
        }
        #expect(fifo.code == .ioError)
    }
}
