import ArgumentParser
import Ledger

/// `ledgerctl catalogue [--bundled]`.
struct CatalogueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalogue",
        abstract: "Print the ledger's purpose catalogue (or the bundled one) as YAML.",
        discussion: "Edit a copy and load it with `ledgerctl init --policy FILE`."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Print the bundled catalogue instead of the ledger's.") var bundled = false

    func run() throws {
        try runReporting(json: global.json) {
            let catalogue = bundled ? try Catalogue.bundled() : try global.openLedger().catalogue()
            if global.json {
                let purposes: [JSONValue] = catalogue.purposes.map { purpose in
                    .object([
                        ("id", .string(purpose.id)), ("basis", .string(purpose.basis.rawValue)),
                        (
                            "notices",
                            .array(
                                purpose.notices.map { notice in
                                    .object([("version", .string(notice.version)), ("sha256", .string(notice.sha256))])
                                }
                            )
                        ),
                    ])
                }
                Output.line(JSONValue.object([("purposes", .array(purposes))]).serialized)
            } else {
                Output.line(catalogue.source)
            }
        }
    }
}
