import Crypto
import Foundation
import Testing

@testable import Ledger

/// The RFC 9162 tree: the RFC 6962 reference vectors, and the ledger's proofs for every tree size
/// 1–300 checked against an independent implementation written from the RFC (below), not by
/// calling the code under test.
struct MerkleTreeTests {
    @Test func reproducesTheRFC6962Vectors() throws {
        let url = Fixture.file("rfc6962-merkle.json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let inputs = try #require(object["leafInputsHex"] as? [String]).compactMap { Hex.decode($0) }
        let roots = try #require(object["rootHashesBySize"] as? [String])
        #expect(inputs.count == 8 && roots.count == 9)
        var nodes: [String: [UInt8]] = [:]
        for (index, input) in inputs.enumerated() {
            // Build the stored perfect subtrees as MerkleStore does, in memory.
            var i = UInt64(index)
            var level: UInt8 = 0
            var hash = MerkleTree.leafHash(input)
            nodes["0/\(i)"] = hash
            while i & 1 == 1 {
                hash = MerkleTree.nodeHash(try #require(nodes["\(level)/\(i - 1)"]), hash)
                i >>= 1
                level += 1
                nodes["\(level)/\(i)"] = hash
            }
        }
        for size in 0...8 {
            let root = try MerkleTree.rangeHash(start: 0, count: UInt64(size)) { level, index in
                guard let node = nodes["\(level)/\(index)"] else { throw LedgerError(.internal, "no node") }
                return node
            }
            #expect(Hex.encode(root) == roots[size], "size \(size)")
            #expect(Hex.encode(Reference.mth(inputs.prefix(size).map { Reference.leaf($0) })) == roots[size])
        }
    }

    @Test func proofsForEveryTreeSizeUpTo300VerifyIndependently() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        _ = try ledger.append(try (0..<300).map { try Fixture.grant("m\($0 % 17)") }, actor: "t")
        var leaves: [[UInt8]] = []
        try ledger.forEachEvent { event in
            leaves.append(Reference.leaf(event.hash))
            return true
        }
        for n in 1...300 {
            let size = UInt64(n)
            let root = try ledger.merkleRoot(size: size)
            #expect(root == Reference.mth(Array(leaves.prefix(n))), "root of \(n)")
            for m in stride(from: 0, to: n, by: n > 40 ? 7 : 1) {
                let proof = try ledger.inclusionProof(seq: UInt64(m + 1), treeSize: size)
                #expect(proof == Reference.path(m, Array(leaves.prefix(n))), "inclusion \(m) of \(n)")
                #expect(Reference.verifyInclusion(leaf: leaves[m], index: m, size: n, proof: proof, root: root))
                if let first = proof.first {
                    var altered = proof
                    altered[0] = Reference.flip(first)
                    #expect(!Reference.verifyInclusion(leaf: leaves[m], index: m, size: n, proof: altered, root: root))
                    #expect(
                        !MerkleTree.verifyInclusion(
                            leafHash: leaves[m],
                            index: UInt64(m),
                            size: size,
                            path: altered,
                            root: root
                        )
                    )
                }
                #expect(
                    MerkleTree.verifyInclusion(
                        leafHash: leaves[m],
                        index: UInt64(m),
                        size: size,
                        path: proof,
                        root: root
                    )
                )
            }
            for m in stride(from: 1, through: n, by: n > 40 ? 5 : 1) {
                let proof = try ledger.consistencyProof(from: UInt64(m), to: size)
                let oldRoot = Reference.mth(Array(leaves.prefix(m)))
                #expect(proof == Reference.proof(m, Array(leaves.prefix(n))), "consistency \(m) → \(n)")
                #expect(Reference.verifyConsistency(m: m, n: n, oldRoot: oldRoot, newRoot: root, proof: proof))
                #expect(
                    MerkleTree.verifyConsistency(
                        oldSize: UInt64(m),
                        newSize: size,
                        oldRoot: oldRoot,
                        newRoot: root,
                        path: proof
                    )
                )
                if !proof.isEmpty {
                    var altered = proof
                    altered[altered.count - 1] = Reference.flip(altered[altered.count - 1])
                    #expect(!Reference.verifyConsistency(m: m, n: n, oldRoot: oldRoot, newRoot: root, proof: altered))
                    #expect(
                        !MerkleTree.verifyConsistency(
                            oldSize: UInt64(m),
                            newSize: size,
                            oldRoot: oldRoot,
                            newRoot: root,
                            path: altered
                        )
                    )
                }
            }
        }
    }

    @Test func aFormatOneLedgerHasItsTreeRebuiltUnderTheNewKeysAtOpen() throws {
        let directory = TemporaryDirectory()
        let root: [UInt8]
        do {
            let ledger = try Fixture.ledger(in: directory)
            _ = try ledger.append(try (0..<77).map { try Fixture.grant("f\($0 % 5)") }, actor: "t")
            root = try ledger.merkleRoot(size: 77)
            // Make it look like format 1: a node under the old level-first key, the old version.
            try ledger.events.write { txn in
                try txn.put(
                    Array(repeating: 0xAB, count: 32),
                    forKey: [1] + EventsSchema.seqKey(0),
                    in: ledger.events.table(EventsSchema.merkle)
                )
                try txn.put(
                    EventsSchema.seqKey(1),
                    forKey: EventsSchema.MetaKey.format,
                    in: ledger.events.table(EventsSchema.meta)
                )
            }
        }
        let reopened = try Ledger(openingAt: directory.ledger, options: Fixture.options())
        #expect(try reopened.merkleRoot(size: 77) == root)
        let (format, oldNode) = try reopened.events.read { txn in
            (
                try txn.get(EventsSchema.MetaKey.format, in: reopened.events.table(EventsSchema.meta)),
                try txn.get([1] + EventsSchema.seqKey(0), in: reopened.events.table(EventsSchema.merkle))
            )
        }
        #expect(format == EventsSchema.seqKey(EventsSchema.formatVersion))
        #expect(oldNode == nil)
    }

    @Test func aCheckpointIsSignedAndAForgeryIsNot() throws {
        let directory = TemporaryDirectory()
        let ledger = try Fixture.ledger(in: directory)
        _ = try ledger.append([try Fixture.grant("cp")], actor: "t")
        var checkpoint = try ledger.checkpoint()
        #expect(checkpoint.hasValidSignature)
        #expect(checkpoint.treeSize == 1)
        #expect(try Checkpoint(json: Array(checkpoint.json.serialized.utf8)) == checkpoint)
        checkpoint.rootHash[0] ^= 1
        #expect(!checkpoint.hasValidSignature)
    }
}

/// RFC 9162 §2.1 written out directly on a list of leaf hashes, independent of `MerkleTree`.
enum Reference {
    static func sha(_ parts: [UInt8]...) -> [UInt8] {
        var hasher = SHA256()
        for part in parts { hasher.update(data: part) }
        return Array(hasher.finalize())
    }

    static func leaf(_ input: [UInt8]) -> [UInt8] { sha([0x00], input) }
    static func flip(_ hash: [UInt8]) -> [UInt8] { [hash[0] ^ 0x80] + hash.dropFirst() }

    static func k(_ n: Int) -> Int {
        var k = 1
        while k * 2 < n { k *= 2 }
        return k
    }

    /// MTH(D[n]) over leaf hashes.
    static func mth(_ d: [[UInt8]]) -> [UInt8] {
        if d.isEmpty { return sha([]) }
        if d.count == 1 { return d[0] }
        let split = k(d.count)
        return sha([0x01], mth(Array(d[..<split])), mth(Array(d[split...])))
    }

    /// PATH(m, D[n]).
    static func path(_ m: Int, _ d: [[UInt8]]) -> [[UInt8]] {
        if d.count <= 1 { return [] }
        let split = k(d.count)
        if m < split { return path(m, Array(d[..<split])) + [mth(Array(d[split...]))] }
        return path(m - split, Array(d[split...])) + [mth(Array(d[..<split]))]
    }

    /// PROOF(m, D[n]).
    static func proof(_ m: Int, _ d: [[UInt8]]) -> [[UInt8]] { m == d.count ? [] : subproof(m, d, true) }

    static func subproof(_ m: Int, _ d: [[UInt8]], _ b: Bool) -> [[UInt8]] {
        if m == d.count { return b ? [] : [mth(d)] }
        let split = k(d.count)
        if m <= split { return subproof(m, Array(d[..<split]), b) + [mth(Array(d[split...]))] }
        return subproof(m - split, Array(d[split...]), false) + [mth(Array(d[..<split]))]
    }

    /// RFC 9162 §2.1.3.2, step by step.
    static func verifyInclusion(leaf: [UInt8], index: Int, size: Int, proof: [[UInt8]], root: [UInt8]) -> Bool {
        if index >= size { return false }
        var fn = index
        var sn = size - 1
        var r = leaf
        for p in proof {
            if sn == 0 { return false }
            if fn % 2 == 1 || fn == sn {
                r = sha([0x01], p, r)
                while fn % 2 == 0 && fn != 0 {
                    fn /= 2
                    sn /= 2
                }
            } else {
                r = sha([0x01], r, p)
            }
            fn /= 2
            sn /= 2
        }
        return sn == 0 && r == root
    }

    /// RFC 9162 §2.1.4.2, step by step.
    static func verifyConsistency(m: Int, n: Int, oldRoot: [UInt8], newRoot: [UInt8], proof: [[UInt8]]) -> Bool {
        if m == n { return proof.isEmpty && oldRoot == newRoot }
        var path = proof
        if m & (m - 1) == 0 { path.insert(oldRoot, at: 0) }
        var fn = m - 1
        var sn = n - 1
        while fn % 2 == 1 {
            fn /= 2
            sn /= 2
        }
        guard var fr = path.first else { return false }
        var sr = fr
        for c in path.dropFirst() {
            if sn == 0 { return false }
            if fn % 2 == 1 || fn == sn {
                fr = sha([0x01], c, fr)
                sr = sha([0x01], c, sr)
                while fn % 2 == 0 && fn != 0 {
                    fn /= 2
                    sn /= 2
                }
            } else {
                sr = sha([0x01], sr, c)
            }
            fn /= 2
            sn /= 2
        }
        return fr == oldRoot && sr == newRoot && sn == 0
    }
}
