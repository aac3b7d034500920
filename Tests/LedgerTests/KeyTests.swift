import Crypto
import Foundation
import GoldenFixture
import Testing

@testable import Ledger

struct KeyTests {
    @Test func masterKeyFileIsCreatedPrivate() throws {
        let directory = TemporaryDirectory()
        _ = try Fixture.ledger(in: directory)
        let attributes = try FileManager.default.attributesOfItem(
            atPath: Ledger.defaultMasterKeyPath(for: directory.ledger)
        )
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    @Test func aGroupReadableMasterKeyIsRefused() throws {
        let directory = TemporaryDirectory()
        _ = try Fixture.ledger(in: directory)
        chmod(Ledger.defaultMasterKeyPath(for: directory.ledger), 0o640)
        #expect(errorCode { _ = try Ledger(openingAt: directory.ledger, options: Fixture.options()) } == .keyInsecure)
    }

    /// The key files a ledger creates are never written through a symbolic link at their name: the
    /// master key file and the signing key are refused with `io_error` when a link (to a file or
    /// to nothing) is there, its target keeps its bytes and mode, a dangling link's target is not
    /// created, and the ledger still opens with its own keys once the link is gone.
    @Test func aLinkAtAKeyFilesNameIsRefusedAndItsTargetLeftUntouched() throws {
        let directory = TemporaryDirectory()
        let targets = try LinkTargets(in: directory.path)
        let master = directory.path + "/master.key"
        _ = try Fixture.ledger(in: directory)
        let signing = Ledger.signingKeyPath(for: directory.ledger)
        let original = FileManager.default.contents(atPath: signing)
        try FileManager.default.moveItem(atPath: signing, toPath: directory.path + "/signing.key")
        for destination in targets.destinations {
            try targets.plant(at: master, to: destination)
            let refused = try #require(throws: LedgerError.self) {
                try FileMasterKeyProvider.create(at: master, random: SeededRandom(seed: "k"))
            }
            #expect(refused.code == .ioError && refused.message.contains("the master key file"))
            try targets.plant(at: signing, to: destination)
            let ledger = try Ledger(openingAt: directory.ledger, options: Fixture.options())
            // A link to a file is read as the key (and refused, its mode being 0644); a dangling
            // one is not created through.
            #expect(throws: LedgerError.self) { try ledger.ensureSigningKey() }
            #expect(isLink(signing))
        }
        #expect(try targets.untouched())
        unlink(signing)
        try FileManager.default.moveItem(atPath: directory.path + "/signing.key", toPath: signing)
        #expect(FileManager.default.contents(atPath: signing) == original)
        _ = try Ledger(openingAt: directory.ledger, options: Fixture.options()).ensureSigningKey()
    }

    @Test func aWrongMasterKeyIsRefused() throws {
        let directory = TemporaryDirectory()
        _ = try Fixture.ledger(in: directory)
        let other = directory.path + "/other.key"
        try FileMasterKeyProvider.create(at: other, random: SeededRandom(seed: "other"))
        var options = Fixture.options()
        options.masterKey = FileMasterKeyProvider(path: other)
        #expect(errorCode { _ = try Ledger(openingAt: directory.ledger, options: options) } == .keyInvalid)
    }

    /// Without its master key a ledger opens for what needs none (SPEC §8: an auditor's copy), and
    /// everything that needs the key says `key_missing` and changes nothing.
    @Test func withoutTheMasterKeyOnlyTheLogCanBeRead() throws {
        let directory = TemporaryDirectory()
        let created = try Fixture.ledger(in: directory)
        _ = try created.append([try Fixture.grant("ada@example.no")], actor: "t")
        var options = Fixture.options()
        options.masterKey = FileMasterKeyProvider(path: directory.path + "/missing.key")
        let auditor = try Ledger(openingAt: directory.ledger, options: options)
        #expect(try auditor.verify().isValid)
        #expect(try auditor.statistics().liveSubjects == 1)
        #expect(errorCode { _ = try auditor.append([try Fixture.grant("bo@example.no")], actor: "t") } == .keyMissing)
        #expect(errorCode { _ = try auditor.pseudonym(of: "ada@example.no") } == .keyMissing)
        #expect(
            errorCode { _ = try auditor.erase(subject: "ada@example.no", requestId: nil, actor: "t") } == .keyMissing
        )
        #expect(try auditor.head().seq == 1)
    }

    @Test func aMissingLedgerIsReported() {
        let directory = TemporaryDirectory()
        #expect(
            errorCode { _ = try Ledger(openingAt: directory.path + "/none", options: Fixture.options()) }
                == .ledgerMissing
        )
    }

    @Test func payloadsAreBoundToTheirEvent() throws {
        let key = SymmetricKeyFactory.key()
        let sealed = try PayloadCipher.seal(
            Array("x".utf8),
            key: key,
            nonce: Array(repeating: 1, count: 12),
            eventId: "e1",
            pseudonym: "p1"
        )
        #expect(try PayloadCipher.open(sealed, key: key, eventId: "e1", pseudonym: "p1") == Array("x".utf8))
        #expect(try PayloadCipher.open(sealed, key: key, eventId: "e2", pseudonym: "p1") == nil)
        #expect(try PayloadCipher.open(sealed, key: key, eventId: "e1", pseudonym: "p2") == nil)
        #expect(sealed.count == 12 + 1 + 16)
    }
}

enum SymmetricKeyFactory {
    static func key() -> SymmetricKey { SymmetricKey(size: .bits256) }
}
