import Dashboard
import Projections
import Testing

@testable import Ledger

/// The integrity page's model: the head and the signed checkpoint of the tree as of a date, the
/// erasures by then.
struct IntegrityPageTests {
    @Test func theHeadAndCheckpointAreThoseOfTheTreeAsOfTheDate() throws {
        let fixture = try DashboardFixture()
        let ledger = fixture.ledger
        var erasures: [Int] = []
        for date in [DashboardFixture.midYear, DashboardFixture.yearEnd] {
            let time = try DashboardFixture.time(date)
            let page = try IntegrityPage.load(from: ledger, asOf: time)
            let size = UInt64(try DashboardFixture.goldenSeq(date))
            #expect(page.checkpoint.treeSize == size, "\(date)")
            let last = try #require(try ledger.event(seq: size))
            #expect(page.checkpoint.headHash == last.hash && page.checkpoint.recordedAt == last.recordedAt)
            #expect(page.checkpoint.rootHash == (try ledger.merkleRoot(size: size)))
            #expect(page.checkpoint.hasValidSignature, "signed with the ledger's key")
            #expect(page.witnesses.isEmpty, "the bundled catalogue lists no witness")
            let projection = try ledger.projection(asOf: time)
            #expect(page.erasures == projection.subjects.values.count { $0.erasure != nil })
            erasures.append(page.erasures)
        }
        // The head at the year's end is the golden head.
        let yearEnd = try IntegrityPage.load(from: ledger, asOf: try DashboardFixture.time(DashboardFixture.yearEnd))
        #expect(
            "seq \(yearEnd.checkpoint.treeSize)\nhash \(Hex.encode(yearEnd.checkpoint.headHash))\n"
                == (try DashboardFixture.goldenText("head.txt"))
        )
        #expect(erasures[0] > 0 && erasures[0] < erasures[1])
        #expect(
            try IntegrityPage.load(from: ledger, asOf: DashboardFixture.time("2024-12-31T00:00:00.000Z")).checkpoint
                .treeSize == 0
        )
    }

    @Test func aWitnessShowsWhatItHadCosignedByThen() throws {
        let asOf = try DashboardFixture.time("2025-06-30T23:59:59.999Z")
        let checkpoint = Checkpoint(
            ledgerId: "l",
            treeSize: 1_094,
            rootHash: [],
            headHash: [],
            recordedAt: asOf,
            publicKey: [],
            signature: []
        )
        let seconds = UInt64(asOf.milliseconds / 1000)
        let key = [UInt8](repeating: 7, count: 32)
        let statuses = [
            Ledger.WitnessStatus(
                witness: try WitnessKey(name: "early.example/w", publicKey: key),
                latestTreeSize: 1_000,
                latestTime: seconds - 3600
            ),
            Ledger.WitnessStatus(
                witness: try WitnessKey(name: "late.example/w", publicKey: key),
                latestTreeSize: 2_000,
                latestTime: seconds + 3600
            ),
            Ledger.WitnessStatus(
                witness: try WitnessKey(name: "idle.example/w", publicKey: key),
                latestTreeSize: nil,
                latestTime: nil
            ),
        ]
        let page = IntegrityPage(checkpoint: checkpoint, witnesses: statuses, erasures: 0, asOf: asOf)
        #expect(page.witnesses.map(\.name) == ["early.example/w", "late.example/w", "idle.example/w"])
        #expect(page.witnesses[0].latestTreeSize == 1_000 && !page.witnesses[0].cosignedLater)
        #expect(page.witnesses[0].latestTime == Timestamp(milliseconds: Int64(seconds - 3600) * 1000))
        #expect(page.witnesses[1].latestTreeSize == nil && page.witnesses[1].cosignedLater)
        #expect(page.witnesses[2].latestTreeSize == nil && !page.witnesses[2].cosignedLater)
        #expect(page.witnesses[0].verifierKey.hasPrefix("early.example/w+"))
        let html = try PageRenderer().integrity(page, asOf: AsOf(now: asOf))
        #expect(html.contains("<td>early.example/w</td>") && html.contains("tree size 1000, cosigned at 2025-06-30"))
        #expect(html.contains("none by then") && html.contains("none stored"))
        // The page signs the checkpoint itself: it says so, rather than calling its own signature valid.
        #expect(html.contains("it proves nothing by itself") && !html.contains(">valid<"))
    }
}
