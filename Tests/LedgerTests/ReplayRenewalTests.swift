import Testing

@testable import Ledger
@testable import Projections

/// A renewed grant is described as a renewal, and its new expiry is the one replay reports.
struct ReplayRenewalTests {
    private typealias Fold = ProjectionFoldTests

    @Test func aRenewalMovesTheExpiryReplayReports() {
        var replayer = Replayer(rules: ProjectionRules(catalogue: (try? Catalogue.bundled()) ?? .emptyForTests))
        let events = [
            Fold.event(
                1,
                .consentGranted,
                purpose: "newsletter",
                occurred: "2026-01-01T00:00:00Z",
                expires: "2026-02-01T00:00:00Z"
            ),
            Fold.event(
                2,
                .consentGranted,
                purpose: "newsletter",
                occurred: "2026-01-10T00:00:00Z",
                expires: "2026-03-01T00:00:00Z"
            ),
            Fold.event(3, .accessRequested, occurred: "2026-04-01T00:00:00Z"),
        ]
        let steps = events.flatMap { replayer.step($0) }
        #expect(
            steps.map(\.changes).prefix(2) == [
                ["newsletter: none → granted"],
                ["newsletter: granted → granted (renewed, expires 2026-03-01T00:00:00.000Z)"],
            ]
        )
        let expiries = steps.filter { $0.event == nil }
        #expect(expiries.map(\.changes) == [["newsletter: granted → expired"]])
        #expect(expiries.first?.at.rfc3339 == "2026-03-01T00:00:00.000Z")
    }
}
