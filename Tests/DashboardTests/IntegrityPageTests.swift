import Dashboard
import Ledger
import Projections
import Testing

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
            #expect(page.signatureValid)
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
}
