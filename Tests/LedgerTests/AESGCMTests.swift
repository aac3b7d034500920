import Crypto
import Testing

@testable import Ledger

/// The ledger's AES-256-GCM (OpenSSL's libcrypto) against NIST's vectors and swift-crypto's, which
/// sealed every payload and key before it: the same bytes both ways, nothing opens once a byte is
/// changed, and a failure that is not the box's is an error, never a `nil`.
struct AESGCMTests {
    let key = SymmetricKey(data: (0..<32).map { UInt8($0) })
    let nonce: [UInt8] = (100..<112).map { UInt8($0) }
    let associatedData = Array("s(eventId) ‖ s(pseudonym)".utf8)

    @Test(arguments: [0, 1, 15, 16, 17, 230, 4_096])
    func sealsTheBytesSwiftCryptoSeals(length: Int) throws {
        let plaintext = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let ours = try AESGCM.seal(plaintext, key: key, nonce: nonce, authenticating: associatedData)
        let theirs = try AES.GCM.seal(
            plaintext,
            using: key,
            nonce: AES.GCM.Nonce(data: nonce),
            authenticating: associatedData
        )
        #expect(ours == Array(try #require(theirs.combined)))
        #expect(ours.count == AESGCM.nonceSize + length + AESGCM.tagSize)
        #expect(try AESGCM.open(ours, key: key, authenticating: associatedData) == plaintext)
        let box = try AES.GCM.SealedBox(combined: ours)
        #expect(Array(try AES.GCM.open(box, using: key, authenticating: associatedData)) == plaintext)
    }

    @Test func opensWhatSwiftCryptoSealedWithARandomNonce() throws {
        let plaintext = Array(#"{"subject":"a@example.org","data":null}"#.utf8)
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: associatedData)
        #expect(
            try AESGCM.open(Array(try #require(box.combined)), key: key, authenticating: associatedData) == plaintext
        )
    }

    /// The Galois/Counter Mode specification's test cases 13 and 14 (AES-256, zero key and nonce).
    @Test func matchesNISTsTestCases() throws {
        let zeroKey = SymmetricKey(data: [UInt8](repeating: 0, count: 32))
        let zeroNonce = [UInt8](repeating: 0, count: 12)
        let empty = try AESGCM.seal([], key: zeroKey, nonce: zeroNonce, authenticating: [])
        #expect(Hex.encode(Array(empty.dropFirst(12))) == "530f8afbc74536b9a963b4f1c4cb738b")
        let block = try AESGCM.seal(
            [UInt8](repeating: 0, count: 16),
            key: zeroKey,
            nonce: zeroNonce,
            authenticating: []
        )
        #expect(
            Hex.encode(Array(block.dropFirst(12)))
                == "cea7403d4d606b6e074ec5d3baf39d18" + "d0d1c8a799996bf0265b98b5d48ab919"
        )
        #expect(try AESGCM.open(block, key: zeroKey, authenticating: []) == [UInt8](repeating: 0, count: 16))
    }

    @Test(arguments: [0, 26])
    func nothingOpensOnceAnyByteChanges(length: Int) throws {
        let plaintext = Array("consent.granted newsletter".utf8.prefix(length))
        let sealed = try AESGCM.seal(plaintext, key: key, nonce: nonce, authenticating: associatedData)
        // The untouched box opens, so the refusals below are the changes'.
        #expect(try AESGCM.open(sealed, key: key, authenticating: associatedData) == plaintext)
        for index in sealed.indices {
            var tampered = sealed
            tampered[index] ^= 0x01
            #expect(try AESGCM.open(tampered, key: key, authenticating: associatedData) == nil, "byte \(index)")
        }
        var otherData = associatedData
        otherData[0] ^= 0x01
        #expect(try AESGCM.open(sealed, key: key, authenticating: otherData) == nil)
        #expect(try AESGCM.open(sealed, key: key, authenticating: []) == nil)
        #expect(try AESGCM.open(sealed, key: SymmetricKey(size: .bits256), authenticating: associatedData) == nil)
        #expect(try AESGCM.open(sealed.dropLast(), key: key, authenticating: associatedData) == nil)
    }

    @Test func shortInputIsRefusedAndAMisSizedKeyIsAnError() throws {
        for length in [0, 1, 12, 27] {
            #expect(try AESGCM.open([UInt8](repeating: 0, count: length), key: key, authenticating: []) == nil)
        }
        let sealed = try AESGCM.seal([1, 2, 3], key: key, nonce: nonce, authenticating: [])
        // A key of another size is the caller's mistake, not a box that does not open.
        #expect(throws: LedgerError.self) {
            try AESGCM.open(sealed, key: SymmetricKey(size: .bits128), authenticating: [])
        }
        #expect(throws: LedgerError.self) {
            try AESGCM.seal([1], key: SymmetricKey(size: .bits128), nonce: nonce, authenticating: [])
        }
        #expect(throws: LedgerError.self) {
            try AESGCM.seal([1], key: key, nonce: Array(nonce.prefix(8)), authenticating: [])
        }
    }

    @Test func sealsFromManyThreadsAtOnce() throws {
        let key = self.key
        let nonce = self.nonce
        let results = try Parallel.map(Array(0..<2_000), threshold: 1) { index in
            let plaintext = Array("event \(index)".utf8)
            let sealed = try AESGCM.seal(plaintext, key: key, nonce: nonce, authenticating: [UInt8(index & 0xFF)])
            return try AESGCM.open(sealed, key: key, authenticating: [UInt8(index & 0xFF)]) == plaintext
        }
        #expect(results.allSatisfy { $0 })
    }

    /// The key store's unwrap: a stored record opens; a changed one is `key_invalid` (the master
    /// key's verdict); a record too short to hold a wrapped key is `ledger_corrupt`, not a trap.
    @Test func theKeyStoreUnwrapsThroughTheOneCipher() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        let result = try ledger.append([try Fixture.grant("unwrap@example.org")], actor: "t")[0]
        let record = try #require(try ledger.storedKeyRecord(pseudonym: result.subject))
        let pseudonym = try #require(Hex.decode(result.subject))
        _ = try ledger.keyStore.unwrap(record, pseudonym: pseudonym)
        var changed = record
        changed[20] ^= 0x01
        #expect(throws: LedgerError.self) { try ledger.keyStore.unwrap(changed, pseudonym: pseudonym) }
        do {
            _ = try ledger.keyStore.unwrap(Array(record.prefix(59)), pseudonym: pseudonym)
            Issue.record("a 59-byte record unwrapped")
        } catch let error as LedgerError {
            #expect(error.code == .ledgerCorrupt)
        }
        do {
            _ = try ledger.keyStore.unwrap(changed, pseudonym: pseudonym)
        } catch let error as LedgerError {
            #expect(error.code == .keyInvalid)
        }
    }
}
