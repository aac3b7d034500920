import ArgumentParser
import Ledger
import Projections

extension RequestFilter: ExpressibleByArgument {}

/// `ledgerctl requests [--status open|overdue|all] [--as-of T]`.
struct RequestsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requests",
        abstract: "Data-subject requests and their deadlines (30 days, extendable once by up to 60).",
        discussion: """
            A request's status is open, completed or rejected. It is overdue when it is still open \
            after its due date: --status overdue lists those, and every row says whether it is.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "open, overdue or all.") var status: RequestFilter = .open
    @Option(name: .customLong("as-of"), help: "An RFC 3339 time; default now.") var asOf: String?

    func run() throws {
        try runReporting(json: global.json) {
            let time = try parseTime(asOf, option: "--as-of")
            let requests = try global.openLedger().projection(asOf: time).requests(at: time, filter: status)
            if global.json {
                Output.line(JSONValue.object([("requests", .array(requests.map { $0.json(at: time) }))]).serialized)
                return
            }
            Output.line("\(status.rawValue.capitalized) requests as of \(time.rfc3339): \(requests.count)")
            guard !requests.isEmpty else { return }
            Output.line(
                Output.table(
                    ["REQUEST", "KIND", "PSEUDONYM", "OPENED", "DUE", "STATUS", "OVERDUE", "CLOSED"],
                    requests.map { request in
                        [
                            request.requestId, request.kind.rawValue, request.pseudonym, request.openedAt.rfc3339,
                            request.dueAt.rfc3339, request.status.rawValue,
                            request.isOverdue(at: time) ? "true" : "false",
                            request.closedAt?.rfc3339 ?? "-",
                        ]
                    }
                )
            )
        }
    }
}
