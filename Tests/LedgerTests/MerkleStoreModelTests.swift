import Crypto
import TestSupport
import Testing

@testable import Ledger

/// The stored Merkle tree (``MerkleStore``: the perfect subtrees, kept in step with every append)
/// against a plain RFC 6962 model computed from the leaf hashes alone: after seeded appends whose
/// sizes land on and around every power of two up to 1,025, the root, inclusion proofs and
/// consistency proofs the ledger reads from its table equal the model's for random old sizes.
struct MerkleStoreModelTests {
    /// RFC 6962 §2.1, written from the RFC: MTH, PATH and PROOF over a list of leaf inputs (the
    /// events' hashes), memoised by range since the list only grows.
    struct Model {
        private(set) var inputs: [[UInt8]] = []
        private var memo: [Int: [Int: [UInt8]]] = [:]

        var size: Int { inputs.count }

        mutating func append(_ input: [UInt8]) { inputs.append(input) }

        static func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

        /// The largest power of two smaller than `n` (n ≥ 2).
        static func split(_ n: Int) -> Int {
            var k = 1
            while k << 1 < n { k <<= 1 }
            return k
        }

        /// MTH(D[start ..< start + count]).
        mutating func hash(_ start: Int, _ count: Int) -> [UInt8] {
            if count == 0 { return Self.sha256([]) }
            if count == 1 { return Self.sha256([0] + inputs[start]) }
            if let known = memo[start]?[count] { return known }
            let k = Self.split(count)
            let value = Self.sha256([1] + hash(start, k) + hash(start + k, count - k))
            memo[start, default: [:]][count] = value
            return value
        }

        /// PATH(m, D[start ..< start + count]).
        mutating func path(_ m: Int, _ start: Int, _ count: Int) -> [[UInt8]] {
            guard count > 1 else { return [] }
            let k = Self.split(count)
            if m < k { return path(m, start, k) + [hash(start + k, count - k)] }
            return path(m - k, start + k, count - k) + [hash(start, k)]
        }

        /// PROOF(m, D[n]); empty for m = 0 and m = n.
        mutating func proof(_ m: Int, _ n: Int) -> [[UInt8]] {
            guard m > 0, m < n else { return [] }
            return subproof(m, 0, n, true)
        }

        private mutating func subproof(_ m: Int, _ start: Int, _ n: Int, _ complete: Bool) -> [[UInt8]] {
            if m == n { return complete ? [] : [hash(start, n)] }
            let k = Self.split(n)
            if m <= k { return subproof(m, start, k, complete) + [hash(start + k, n - k)] }
            return subproof(m - k, start + k, n - k, false) + [hash(start, k)]
        }
    }

    /// The tree sizes every run lands on: each power of two up to 1,024, one below and one above.
    static let boundaries: [Int] = {
        var sizes: Set<Int> = [1, 2, 3]
        var power = 4
        while power <= 1_024 {
            sizes.formUnion([power - 1, power, power + 1])
            power <<= 1
        }
        return sizes.sorted()
    }()

    /// Checks the ledger's root, proofs and checkpoint against the model, at the head and at
    /// random older sizes (boundaries preferred).
    static func check(_ ledger: Ledger, _ model: inout Model, random: inout SplitMix64, context: String) throws {
        let n = model.size
        #expect(try ledger.head().seq == UInt64(n), "\(context)")
        #expect(try ledger.merkleRoot(size: UInt64(n)) == model.hash(0, n), "\(context): root of the head")
        let checkpoint = try ledger.checkpoint()
        #expect(checkpoint.treeSize == UInt64(n) && checkpoint.rootHash == model.hash(0, n), "\(context): checkpoint")
        guard n > 0 else {
            #expect(try ledger.merkleRoot(size: 0) == MerkleTree.emptyRoot, "\(context)")
            return
        }
        let nearby = boundaries.filter { $0 <= n }
        for _ in 0..<4 {
            let m = random.chance(50) ? (random.pick(nearby) ?? 1) : 1 + random.below(n)
            let root = model.hash(0, m)
            #expect(try ledger.merkleRoot(size: UInt64(m)) == root, "\(context): root of size \(m)")
            let leaf = random.chance(30) ? m - 1 : random.below(m)
            let inclusion = try ledger.inclusionProof(seq: UInt64(leaf + 1), treeSize: UInt64(m))
            #expect(inclusion == model.path(leaf, 0, m), "\(context): inclusion of seq \(leaf + 1) in \(m)")
            #expect(
                MerkleTree.verifyInclusion(
                    leafHash: Model.sha256([0] + model.inputs[leaf]),
                    index: UInt64(leaf),
                    size: UInt64(m),
                    path: inclusion,
                    root: root
                ),
                "\(context): the inclusion proof verifies"
            )
            let old = random.chance(20) ? 0 : 1 + random.below(m)
            for (from, to) in [(old, m), (m, n)] {
                let proof = try ledger.consistencyProof(from: UInt64(from), to: UInt64(to))
                #expect(proof == model.proof(from, to), "\(context): consistency \(from) → \(to)")
                #expect(
                    MerkleTree.verifyConsistency(
                        oldSize: UInt64(from),
                        newSize: UInt64(to),
                        oldRoot: model.hash(0, from),
                        newRoot: model.hash(0, to),
                        path: proof
                    ),
                    "\(context): the consistency proof \(from) → \(to) verifies"
                )
            }
        }
    }

    static func event(_ random: inout SplitMix64, subjects: Int, index: Int) throws -> ClientEvent {
        try ModelEvent(
            "consent.granted",
            subject: "m\(random.below(subjects))",
            [("purpose", random.pick(modelConsentPurposes) ?? "newsletter"), ("notice", "policy-v1")],
            data: random.chance(30) ? #"{"i":\#(index)}"# : nil
        ).decoded()
    }

    /// Appends until the tree has 1,025 leaves, landing on every boundary (sometimes in one batch
    /// from the last, sometimes in several), with group commits whose refused batch must leave no
    /// node behind; checks after every commit, after a reopen and after a backfill from nothing.
    func run(seed: UInt64, subjects: Int) throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock()
        var ledger: Ledger? = try Fixture.ledger(
            in: directory,
            options: Fixture.options(clock: clock, seed: "merkle-\(seed)")
        )
        var random = SplitMix64(seed: seed)
        var model = Model()
        var round = 0
        try Self.check(try #require(ledger), &model, random: &random, context: "seed \(seed), empty")
        for target in Self.boundaries {
            while model.size < target {
                round += 1
                clock.advance(milliseconds: 1)
                let remaining = target - model.size
                let size = random.chance(60) ? remaining : 1 + random.below(remaining)
                let events = try (0..<size).map { try Self.event(&random, subjects: subjects, index: model.size + $0) }
                let results: [AppendResult]
                if random.chance(30) {
                    // A group: a refused batch (a request that is not open) between good ones.
                    let bad = try ModelEvent("access.completed", subject: "m0", [("requestId", random.uuid())])
                        .decoded()
                    let outcomes = try #require(ledger).appendGroup([
                        (try #require(ledger).prepare(Array(events.prefix(size / 2)) + [bad]), "refused"),
                        (try #require(ledger).prepare(events), "merkle"),
                    ])
                    guard outcomes.count == 2, case .failure = outcomes[0], case .success(let appended) = outcomes[1]
                    else {
                        Issue.record("seed \(seed), round \(round): \(outcomes)")
                        return
                    }
                    results = appended
                } else {
                    results = try #require(ledger).append(events, actor: "merkle")
                }
                for result in results { model.append(try #require(Hex.decode(result.hash))) }
                try Self.check(
                    try #require(ledger),
                    &model,
                    random: &random,
                    context: "seed \(seed), round \(round), size \(model.size)"
                )
            }
        }
        // The stored leaves are the log's hashes.
        let first = try #require(try ledger?.event(seq: 1))
        #expect(first.hash == model.inputs[0], "seed \(seed)")

        ledger = nil
        ledger = try Ledger(openingAt: directory.ledger, options: Fixture.options(clock: clock))
        try Self.check(try #require(ledger), &model, random: &random, context: "seed \(seed), reopened")

        // A ledger from before the tree: no nodes, no size. Opening backfills every node.
        try Self.dropTree(of: try #require(ledger))
        ledger = nil
        ledger = try Ledger(openingAt: directory.ledger, options: Fixture.options(clock: clock))
        try Self.check(try #require(ledger), &model, random: &random, context: "seed \(seed), backfilled")
        #expect(round > Self.boundaries.count / 2, "seed \(seed)")
    }

    /// Deletes every stored node and the tree's size, as a ledger from before the tree has none.
    static func dropTree(of ledger: Ledger) throws {
        let events = ledger.events
        try events.write { txn in
            var keys: [[UInt8]] = []
            try txn.forEach(in: events.table(EventsSchema.merkle)) { key, _ in
                keys.append(Array(key))
                return true
            }
            for key in keys { try txn.delete(key, in: events.table(EventsSchema.merkle)) }
            try txn.delete(EventsSchema.MetaKey.merkleSize, in: events.table(EventsSchema.meta))
        }
    }

    @Test(arguments: ModelSeeds.all)
    func oneHotSubjectsTreeMatchesTheModel(seed: UInt64) throws {
        try run(seed: seed, subjects: 1)
    }

    @Test(arguments: ModelSeeds.all)
    func manySubjectsTreeMatchesTheModel(seed: UInt64) throws {
        try run(seed: seed, subjects: 300)
    }
}
