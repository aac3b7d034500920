import Dashboard
import Foundation
import Ledger
import Testing

/// The login token and the sessions.
struct AccessTests {
    @Test func theTokenIs32RandomBytesInHexAndNeverPrinted() {
        let token = AccessToken(random: SystemRandomSource())
        #expect(token.hex.utf8.count == 64 && token.hex.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(token.hex != AccessToken(random: SystemRandomSource()).hex)
        #expect(!"\(token)".contains(token.hex) && !String(reflecting: token).contains(token.hex))
    }

    @Test func onlyTheTokenMatches() {
        let token = AccessToken(random: FixedRandom(bytes: [0x5A]))
        #expect(token.matches(token.hex))
        #expect(!token.matches(token.hex.uppercased()))
        #expect(!token.matches(String(token.hex.dropLast())))
        #expect(!token.matches(token.hex + "0"))
        #expect(!token.matches(String(token.hex.dropLast()) + "b"))
        #expect(!token.matches(""))
    }

    @Test func theTokenFileIsWrittenWithMode0600AndReplacesASymlinkRatherThanFollowingIt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("token-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/dashboard.token"
        let victim = directory + "/victim"
        #expect(FileManager.default.createFile(atPath: victim, contents: Data("keep".utf8)))
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: victim)
        let previous = umask(0)
        defer { umask(previous) }
        let token = AccessToken(random: SystemRandomSource())
        try token.write(toFile: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == token.hex + "\n")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "keep")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((attributes[.type] as? FileAttributeType) == .typeRegular)
        // A second start replaces it.
        let next = AccessToken(random: SystemRandomSource())
        try next.write(toFile: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == next.hex + "\n")
        AccessToken.removeFile(at: path)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(throws: LedgerError.self) { try token.write(toFile: directory + "/missing/dashboard.token") }
    }

    @Test func sessionsExpireAfterTheirLifetime() {
        let clock = MovingClock("2025-06-01T00:00:00.000Z")
        let sessions = SessionStore(lifetimeSeconds: 3600, clock: clock, random: CountingRandom())
        let id = sessions.open()
        #expect(id.utf8.count == 64 && sessions.isValid(id))
        #expect(!sessions.isValid(String(repeating: "0", count: 64)))
        clock.advance(seconds: 3599)
        #expect(sessions.isValid(id))
        clock.advance(seconds: 1)
        #expect(!sessions.isValid(id))
    }

    @Test func loggingOutEndsTheSessionAndAFullStoreDropsTheOldest() {
        let clock = MovingClock("2025-06-01T00:00:00.000Z")
        let sessions = SessionStore(lifetimeSeconds: 3600, capacity: 3, clock: clock, random: CountingRandom())
        let first = sessions.open()
        clock.advance(seconds: 1)
        let others = (0..<3).map { _ in sessions.open() }
        #expect(!sessions.isValid(first))
        #expect(others.allSatisfy(sessions.isValid))
        sessions.close(others[0])
        #expect(!sessions.isValid(others[0]) && sessions.isValid(others[1]))
    }
}
