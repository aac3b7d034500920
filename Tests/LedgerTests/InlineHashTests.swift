import Crypto
import Testing

@testable import Ledger

/// ``InlineHash``, the allocation-free form in which the chain verifier and the Merkle
/// accumulator keep hashes: it keeps the bytes in order, tells apart hashes that differ in any
/// byte, refuses any length but 32, and holds the same digest as the array-returning rules.
struct InlineHashTests {
    private static let sample: [UInt8] = (0..<32).map { UInt8($0 * 7 + 3) }

    @Test func itGivesBackTheBytesItWasMadeFrom() throws {
        let hash = try #require(InlineHash(Self.sample))
        #expect(hash.bytes == Self.sample)
        #expect(Self.sample.withUnsafeBytes { hash.isStored(at: $0) })
        #expect(InlineHash(SHA256.hash(data: Self.sample)).bytes == Array(SHA256.hash(data: Self.sample)))
    }

    @Test func anyLengthButThirtyTwoIsRefused() {
        #expect(InlineHash([UInt8](repeating: 1, count: 31)) == nil)
        #expect(InlineHash([UInt8](repeating: 1, count: 33)) == nil)
        #expect(InlineHash([]) == nil)
        #expect(!Array(Self.sample.prefix(31)).withUnsafeBytes { InlineHash(Self.sample)?.isStored(at: $0) ?? true })
    }

    @Test func hashesThatDifferInAnyByteDiffer() throws {
        let hash = try #require(InlineHash(Self.sample))
        for position in Self.sample.indices {
            var other = Self.sample
            other[position] ^= 0x80
            #expect(InlineHash(other) != hash, "byte \(position)")
        }
    }

    @Test func theInlineDigestsAreTheRulesDigests() {
        let body: [UInt8] = Array("a body of some length, longer than one SHA-256 block of 64 bytes".utf8)
        #expect(ChainHash.digest(body: body).bytes == ChainHash.hash(body: body))
        #expect(ChainHash.hash(body: body) == Array(SHA256.hash(data: Array("CLv1".utf8) + body)))
        let left = Array(Self.sample)
        let right = Array(Self.sample.reversed())
        #expect(MerkleTree.nodeHash(left, right) == Array(SHA256.hash(data: [1] + left + right)))
        #expect(MerkleTree.leafHash(left) == Array(SHA256.hash(data: [0] + left)))
    }
}
