import ArgumentParser
import Foundation
import Ledger

/// `ledgerctl witnesses [list | add-cosignatures FILE]`.
struct WitnessesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witnesses",
        abstract: "List the catalogue's witnesses, or store their cosignatures on a checkpoint.",
        discussion: """
            Witnesses are listed in the catalogue by their C2SP tlog-cosignature/v1 verifier keys \
            (`witnesses:`); to add one, print the catalogue, add its key and load it again with \
            `ledgerctl init --policy`. A witness that checked the log cosigns a checkpoint note \
            (`ledgerctl checkpoint --format note`); `add-cosignatures` stores the cosignatures \
            of listed witnesses, which every later note of that tree size then carries \
            (docs/AUDITING.md, "Witness cosignatures").
            """,
        subcommands: [List.self, AddCosignatures.self],
        defaultSubcommand: List.self
    )

    /// `ledgerctl witnesses list`.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "Each witness the catalogue lists, with the largest tree size it cosigned."
        )

        @OptionGroup var global: GlobalOptions

        func run() throws {
            try runReporting(json: global.json) {
                let statuses = try global.openLedger().witnessStatuses()
                if global.json {
                    let items: [JSONValue] = statuses.map { status in
                        .object([
                            ("name", .string(status.witness.name)), ("key", .string(status.witness.verifierKey)),
                            ("latestTreeSize", status.latestTreeSize.map { .int(Int64($0)) } ?? .null),
                            ("latestTime", status.latestTime.map { .string(Self.rfc3339($0)) } ?? .null),
                        ])
                    }
                    Output.line(JSONValue.object([("witnesses", .array(items))]).serialized)
                    return
                }
                guard !statuses.isEmpty else {
                    Output.line("The catalogue lists no witnesses.")
                    return
                }
                for status in statuses {
                    let cosigned =
                        status.latestTreeSize.map { size in
                            "cosigned tree size \(size) at \(status.latestTime.map(Self.rfc3339) ?? "?")"
                        } ?? "no cosignature yet"
                    Output.line("\(status.witness.verifierKey)  \(cosigned)")
                }
            }
        }

        private static func rfc3339(_ seconds: UInt64) -> String {
            Timestamp(milliseconds: Int64(clamping: seconds) &* 1000).rfc3339
        }
    }

    /// `ledgerctl witnesses add-cosignatures FILE`.
    struct AddCosignatures: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-cosignatures",
            abstract: "Store the listed witnesses' cosignatures a checkpoint note carries."
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The cosigned checkpoint note; - for standard input.", valueName: "file"))
        var file: String

        func run() throws {
            try runReporting(json: global.json) {
                let data =
                    file == "-"
                    ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
                guard let data, let text = String(validating: data, as: UTF8.self) else {
                    throw LedgerError(.unreadableInput, "cannot read the note \(file) as UTF-8 text")
                }
                let receipt = try global.openLedger().addCosignatures(try SignedNote(parsing: text))
                if global.json {
                    Output.line(receipt.json.serialized)
                } else {
                    Output.line(
                        "Tree size \(receipt.treeSize): stored \(receipt.stored.count) cosignature(s)"
                            + (receipt.stored.isEmpty ? "" : " (\(receipt.stored.joined(separator: ", ")))")
                            + (receipt.unchanged.isEmpty
                                ? "" : "; already held: \(receipt.unchanged.joined(separator: ", "))")
                            + "; \(receipt.ignored) other signature line(s) ignored"
                    )
                }
            }
        }
    }
}
