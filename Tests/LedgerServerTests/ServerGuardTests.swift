import Foundation
import Ledger
import Testing

@testable import LedgerServer

/// The server's guard on `<ledger>/server.lock`.
struct ServerGuardTests {
    /// A symbolic link planted at `server.lock` is refused with `io_error`, never followed: the
    /// file it names is neither created nor opened.
    @Test func aLinkAtTheServerLockIsRefusedAndNotFollowed() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("guard-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let target = path + "/not-there"
        try FileManager.default.createSymbolicLink(atPath: path + "/server.lock", withDestinationPath: target)
        do {
            _ = try ServerGuard(ledgerDirectory: path, socketPath: path + "/ledger.sock")
            Issue.record("the guard followed a linked server.lock")
        } catch let error as LedgerError {
            #expect(error.code == .ioError)
        }
        #expect(!FileManager.default.fileExists(atPath: target))
    }
}
