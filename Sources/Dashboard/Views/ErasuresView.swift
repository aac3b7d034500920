import Ledger

/// The erasures page as the `erasures` template draws it: tiles of the counts and times, then one
/// row per erased subject.
struct ErasuresView: Sendable {
    struct Tile: Sendable {
        let label: String
        let value: String
    }

    struct Row: Sendable {
        let pseudonym: String
        let seq: UInt64
        let erased: String
        let requestId: String?
        let requestHref: String?
        let requested: String?
        let toShred: String?
    }

    let tiles: [Tile]
    let rows: [Row]
    let empty: Bool
    let csvHref: String

    init(_ page: ErasuresPage, asOf: AsOf) {
        let answered = page.timesToShred.count
        tiles = [
            Tile(label: "Erasures (keys shredded)", value: String(page.erasures)),
            Tile(label: "Answering an erasure request", value: String(answered)),
            Tile(
                label: "Median, request to shred",
                value: page.medianToShred.map { Display.days(milliseconds: $0) } ?? "—"
            ),
            Tile(
                label: "Longest, request to shred",
                value: page.longestToShred.map { Display.days(milliseconds: $0) } ?? "—"
            ),
            Tile(label: "Erasure requests open", value: String(page.openRequests)),
            Tile(label: "Erasure requests rejected", value: String(page.rejectedRequests)),
        ]
        rows = page.rows.map { row in
            Row(
                pseudonym: row.pseudonym,
                seq: row.seq,
                erased: Display.minute(row.erasedAt),
                requestId: row.requestId,
                requestHref: row.requestId.map { "/requests/" + $0 + asOf.query },
                requested: row.requestedAt.map(Display.minute),
                toShred: row.millisecondsToShred.map { Display.days(milliseconds: $0) }
            )
        }
        empty = page.rows.isEmpty
        csvHref = "/erasures.csv" + asOf.query
    }
}
