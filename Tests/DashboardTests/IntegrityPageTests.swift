import Dashboard
import Foundation
import HummingbirdTesting
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

    @Test func theLastChecksThatHadFinishedByThenAreShown() async throws {
        let fixture = try DashboardFixture()
        let directory = fixture.path + "/ledger"
        func run(
            _ check: IntegrityRun.Check,
            _ start: String,
            _ milliseconds: Int64,
            failing: Bool = false
        ) throws
            -> IntegrityRun
        {
            IntegrityRun(
                check: check,
                ok: !failing,
                code: failing ? "hash_mismatch" : nil,
                failedSeq: failing ? 1_500 : nil,
                headSeq: 500,
                repaired: check == .rebuild,
                startedAt: try DashboardFixture.time(start),
                milliseconds: milliseconds
            )
        }
        let april = try run(.verify, "2025-04-01T10:00:00Z", 1_200)
        let august = try run(.verify, "2025-08-01T10:00:00Z", 900, failing: true)
        // Started before the end of June, finished after it.
        let straddling = try run(.rebuild, "2025-06-30T23:58:00Z", 300_000)
        for recorded in [april, august, straddling] { try Ledger.recordIntegrityRun(recorded, inLedgerAt: directory) }
        func checks(_ date: String) throws -> [IntegrityPage.Check] {
            try IntegrityPage.load(from: fixture.ledger, asOf: try DashboardFixture.time(date)).checks
        }
        let march = try checks("2025-03-01T00:00:00Z")
        #expect(march.map(\.check) == [.verify, .rebuild])
        #expect(march.allSatisfy { $0.last == nil && $0.ranLater && $0.unreadable == nil })
        let june = try checks(DashboardFixture.midYear)
        #expect(june[0].last == april && june[1].last == nil && june[1].ranLater)
        let december = try checks(DashboardFixture.yearEnd)
        #expect(december[0].last == august && december[1].last == straddling)
        let asOf = AsOf(now: try DashboardFixture.time(DashboardFixture.yearEnd))
        let html = try PageRenderer().integrity(
            try IntegrityPage.load(from: fixture.ledger, asOf: asOf.time),
            asOf: asOf
        )
        #expect(html.contains(#"<span class="bad">FAILED: hash_mismatch at seq 1500</span>"#))
        #expect(html.contains("head seq 500; started 2025-08-01 10:00 UTC, took 900 ms"))
        #expect(html.contains(#"<span class="ok">OK (after --repair)</span>"#) && html.contains("took 5 min 0 s"))
        let past = try PageRenderer().integrity(
            try IntegrityPage.load(from: fixture.ledger, asOf: try DashboardFixture.time("2025-03-01T00:00:00Z")),
            asOf: asOf
        )
        #expect(past.contains("none by then (the runs recorded are later)"))

        // A damaged status file is shown as such; the page still answers.
        #expect(
            FileManager.default.createFile(
                atPath: Ledger.integrityStatusPath(for: directory),
                contents: Data("{".utf8)
            )
        )
        #expect(try checks(DashboardFixture.yearEnd).allSatisfy { $0.unreadable == "ledger_corrupt" })
        try await fixture.dashboard().makeApplication().test(.router) { client in
            let cookie = try await client.logIn()
            let reply = try await client.get("/integrity", cookie: cookie)
            #expect(reply.status == 200 && reply.text.contains("the status file could not be read (ledger_corrupt)"))
        }
    }
}
