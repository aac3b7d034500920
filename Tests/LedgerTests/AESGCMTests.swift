import Crypto
import Testing

@testable import Ledger

/// The ledger's AES-256-GCM (OpenSSL's libcrypto) against swift-crypto's, which sealed every
/// payload and key before it: the same bytes both ways, and nothing opens once a byte is changed.
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
        #expect(AESGCM.open(ours, key: key, authenticating: associatedData) == plaintext)
        let box = try AES.GCM.SealedBox(combined: ours)
        #expect(Array(try AES.GCM.open(box, using: key, authenticating: associatedData)) == plaintext)
    }

    @Test func opensWhatSwiftCryptoSealedWithARandomNonce() throws {
        let plaintext = Array(#"{"subject":"a@example.org","data":null}"#.utf8)
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: associatedData)
        #expect(AESGCM.open(Array(try #require(box.combined)), key: key, authenticating: associatedData) == plaintext)
    }

    @Test func nothingOpensOnceAnyByteChanges() throws {
        let plaintext = Array("consent.granted newsletter".utf8)
        let sealed = try AESGCM.seal(plaintext, key: key, nonce: nonce, authenticating: associatedData)
        for index in sealed.indices {
            var tampered = sealed
            tampered[index] ^= 0x01
            #expect(AESGCM.open(tampered, key: key, authenticating: associatedData) == nil, "byte \(index)")
        }
        var otherData = associatedData
        otherData[0] ^= 0x01
        #expect(AESGCM.open(sealed, key: key, authenticating: otherData) == nil)
        #expect(AESGCM.open(sealed, key: SymmetricKey(size: .bits256), authenticating: associatedData) == nil)
    }

    @Test func shortOrMisKeyedInputIsRefusedNotACrash() throws {
        for length in [0, 1, 12, 27] {
            #expect(AESGCM.open([UInt8](repeating: 0, count: length), key: key, authenticating: []) == nil)
        }
        let sealed = try AESGCM.seal([1, 2, 3], key: key, nonce: nonce, authenticating: [])
        #expect(AESGCM.open(sealed, key: SymmetricKey(size: .bits128), authenticating: []) == nil)
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
            return AESGCM.open(sealed, key: key, authenticating: [UInt8(index & 0xFF)]) == plaintext
        }
        #expect(results.allSatisfy { $0 })
    }
}
