import Ledger

/// The pages' tables as CSV downloads (`/requests.csv`, `/consent.csv`): every row, no cap; times
/// in RFC 3339 UTC; people by pseudonym only.
enum CSVExports {
    /// The statutory clock's table: every request open at the page's time.
    static func requests(_ page: ClockPage) -> CSVTable {
        var table = CSVTable(header: [
            "requestId", "kind", "pseudonym", "openedAt", "dueAt", "daysLeft", "daysOverdue", "urgency", "extended",
            "asOf",
        ])
        for row in page.rows {
            table.append([
                row.requestId, row.kind.rawValue, row.pseudonym, row.openedAt.rfc3339, row.dueAt.rfc3339,
                String(max(row.daysLeft, 0)), String(row.daysLeft < 0 ? -row.daysLeft : 0), row.urgency.rawValue,
                String(row.extended), page.asOf.rfc3339,
            ])
        }
        return table
    }

    /// The consent page's table: every purpose of the catalogue, in its order.
    static func consent(_ page: ConsentPage) -> CSVTable {
        var table = CSVTable(header: [
            "purpose", "title", "basis", "granted", "withdrawn", "expired", "erased", "optInRate",
            "grantsLast12Weeks", "withdrawalsLast12Weeks", "asOf",
        ])
        for purpose in page.purposes {
            let counts = purpose.counts
            table.append([
                counts.id, purpose.title, counts.basis, String(counts.granted), String(counts.withdrawn),
                String(counts.expired), String(counts.erased), Display.fraction(purpose.optInRate),
                String(purpose.weeklyGrants.reduce(0, +)), String(purpose.weeklyWithdrawals.reduce(0, +)),
                page.asOf.rfc3339,
            ])
        }
        return table
    }
}
