import Ledger

/// The pages' tables as CSV downloads: every row, no cap; times in RFC 3339 UTC; people by
/// pseudonym only; the page's time in a last column `asOf`.
enum CSVExports {
    /// `/requests.csv`: the statutory clock's table, every request open at the page's time.
    static func requests(_ page: ClockPage) -> CSVTable {
        CSVTable(
            header: [
                "requestId", "kind", "pseudonym", "openedAt", "dueAt", "daysLeft", "daysOverdue", "urgency",
                "extended", "extendedAt", "originalDueAt", "asOf",
            ],
            rows: page.rows.map { row in
                let moved = row.dueDateExtension
                return [
                    row.requestId, row.kind.rawValue, row.pseudonym, row.openedAt.rfc3339, row.dueAt.rfc3339,
                    String(max(row.daysLeft, 0)), String(row.daysLeft < 0 ? -row.daysLeft : 0), row.urgency.rawValue,
                    String(row.extended), moved?.extendedAt.rfc3339 ?? "", moved?.originalDueAt.rfc3339 ?? "",
                    page.asOf.rfc3339,
                ]
            }
        )
    }

    /// `/consent.csv`: the consent page's table of purposes, in catalogue order.
    static func consent(_ page: ConsentPage) -> CSVTable {
        CSVTable(
            header: [
                "purpose", "title", "basis", "granted", "withdrawn", "expired", "erased", "optInRate",
                "grantsLast12Weeks", "withdrawalsLast12Weeks", "expiriesLast12Weeks", "asOf",
            ],
            rows: page.purposes.map { purpose in
                let counts = purpose.counts
                return [
                    counts.id, purpose.title, counts.basis, String(counts.granted), String(counts.withdrawn),
                    String(counts.expired), String(counts.erased), Display.fraction(purpose.optInRate),
                    String(purpose.weeklyGrants.reduce(0, +)), String(purpose.weeklyWithdrawals.reduce(0, +)),
                    String(purpose.weeklyExpiries.reduce(0, +)), page.asOf.rfc3339,
                ]
            }
        )
    }

    /// `/consent-notices.csv`: the opt-in rate by notice version, purposes in catalogue order;
    /// `notice` is empty for decisions under none.
    static func notices(_ page: ConsentPage) -> CSVTable {
        CSVTable(
            header: ["purpose", "notice", "granted", "withdrawn", "expired", "optInRate", "asOf"],
            rows: page.purposes.flatMap { purpose in
                purpose.notices.map { notice in
                    [
                        purpose.counts.id, notice.version ?? "", String(notice.tally.granted),
                        String(notice.tally.withdrawn), String(notice.tally.expired),
                        Display.fraction(notice.tally.optInRate), page.asOf.rfc3339,
                    ]
                }
            }
        )
    }

    /// `/expiring.csv`: every consent that lapses within 30 days of the page's time, soonest first.
    static func expiring(_ page: ConsentPage) -> CSVTable {
        CSVTable(
            header: ["pseudonym", "purpose", "notice", "grantedAt", "expiresAt", "daysLeft", "asOf"],
            rows: page.expiring.map { consent in
                [
                    consent.pseudonym, consent.purpose, consent.notice ?? "", consent.grantedAt.rfc3339,
                    consent.expiresAt.rfc3339, String(consent.daysLeft), page.asOf.rfc3339,
                ]
            }
        )
    }

    /// `/erasures.csv`: every subject erased by the page's time; the request columns are empty for
    /// an erasure that answered none, `daysToShred` in days to three decimals.
    static func erasures(_ page: ErasuresPage) -> CSVTable {
        CSVTable(
            header: ["pseudonym", "seq", "erasedAt", "requestId", "requestedAt", "daysToShred", "asOf"],
            rows: page.rows.map { row in
                [
                    row.pseudonym, String(row.seq), row.erasedAt.rfc3339, row.requestId ?? "",
                    row.requestedAt?.rfc3339 ?? "",
                    Display.fraction(row.millisecondsToShred.map { Double($0) / 86_400_000 }), page.asOf.rfc3339,
                ]
            }
        )
    }

    /// `/witnesses.csv`: the catalogue's witnesses and what each had cosigned by the page's time.
    static func witnesses(_ page: IntegrityPage) -> CSVTable {
        CSVTable(
            header: ["witness", "verifierKey", "latestTreeSize", "latestCosignedAt", "cosignedLater", "asOf"],
            rows: page.witnesses.map { witness in
                [
                    witness.name, witness.verifierKey, witness.latestTreeSize.map { String($0) } ?? "",
                    witness.latestTime?.rfc3339 ?? "", String(witness.cosignedLater), page.asOf.rfc3339,
                ]
            }
        )
    }
}
