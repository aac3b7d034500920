import Ledger

/// The statutory clock as the `clock` template draws it: three tiles and the table of open
/// requests, every value already written out.
struct ClockView: Sendable {
    struct Tile: Sendable {
        let label: String
        let count: Int
        /// The CSS class that colours it.
        let tone: String
    }

    struct Row: Sendable {
        let requestId: String
        let href: String
        let kind: String
        let pseudonym: String
        let opened: String
        let due: String
        let daysLeft: String
        /// `green`, `amber`, `red` or `overdue`.
        let tone: String
        /// `on 2025-03-01, from 2025-03-10`: when an extension moved the due date, and from what;
        /// `nil` when none did.
        let extensionNote: String?
    }

    let tiles: [Tile]
    let rows: [Row]
    let empty: Bool
    let csvHref: String
    /// The link that sorts the table the other way round by days left.
    let sortHref: String
    /// `↑` for fewest days left first, `↓` for most.
    let sortMark: String
    /// What following ``sortHref`` does, for its title.
    let sortTitle: String

    /// The clock of `page`, its rows already in `order`.
    init(_ page: ClockPage, order: ClockPage.Order, asOf: AsOf) {
        tiles = [
            Tile(label: "On time (more than \(ClockPage.dueSoonDays) days left)", count: page.onTime, tone: "green"),
            Tile(label: "Due within \(ClockPage.dueSoonDays) days", count: page.dueSoon, tone: "amber"),
            Tile(label: "Overdue", count: page.overdue, tone: "overdue"),
        ]
        rows = page.rows.map { row in
            Row(
                requestId: row.requestId,
                href: "/requests/" + row.requestId + asOf.query,
                kind: row.kind.rawValue,
                pseudonym: row.pseudonym,
                opened: Display.date(row.openedAt),
                due: Display.minute(row.dueAt),
                daysLeft: Display.daysLeft(row.daysLeft),
                tone: row.urgency.rawValue,
                extensionNote: row.dueDateExtension.map {
                    "on \(Display.date($0.extendedAt)), from \(Display.date($0.originalDueAt))"
                }
            )
        }
        empty = page.rows.isEmpty
        let sortQuery = order == .fewestDaysLeftFirst ? "" : "sort=" + order.rawValue
        csvHref = "/requests.csv" + Self.query(sortQuery, asOf)
        let other: ClockPage.Order = order == .fewestDaysLeftFirst ? .mostDaysLeftFirst : .fewestDaysLeftFirst
        sortHref = "/" + Self.query("sort=" + other.rawValue, asOf)
        sortMark = order == .fewestDaysLeftFirst ? "↑" : "↓"
        sortTitle = other == .mostDaysLeftFirst ? "most days left first" : "fewest days left first"
    }

    /// `?sort=…&asOf=…`, with what is given.
    private static func query(_ sort: String, _ asOf: AsOf) -> String {
        let parts = [sort, asOf.queryValue.map { "asOf=" + $0 } ?? ""].filter { !$0.isEmpty }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }
}
