import ArgumentParser
import Foundation
import Ledger
import LedgerServer

/// `ledgerctl import FILE`.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Append client events from an NDJSON file, atomically in chunks of 10,000 lines.",
        discussion: """
            Each line is one client event, as POST /v1/events takes it. Each chunk of up to 10,000 \
            lines is appended atomically; a refused line names its number, nothing of its chunk is \
            appended, and the chunks before it stay committed. Blank lines are skipped.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The NDJSON file, or - for standard input.", valueName: "file"))
    var file: String

    func run() throws {
        try runReporting(json: global.json) {
            let ledger = try global.openLedger()
            let catalogue = try ledger.catalogue()
            let actor = CallerIdentity.actor(catalogue: catalogue)
            var reader = try LineReader(path: file)
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? UInt64) ?? nil
            let progress = Progress(label: "import", total: size, unit: "bytes")
            defer { progress.finish() }
            var chunk = NDJSONBatch()
            var appended = 0
            var replayed = 0
            func flush() throws {
                guard !chunk.events.isEmpty else { return }
                do {
                    let results = try ledger.append(chunk.events, actor: actor)
                    Failpoint.hit("import.afterChunk")
                    appended += results.filter { !$0.replayed }.count
                    replayed += results.filter(\.replayed).count
                } catch let error as LedgerError {
                    let located = chunk.lineOf(error)
                    throw LedgerError(
                        located.code,
                        located.message + " (\(appended) events of earlier chunks were committed)",
                        line: located.line
                    )
                }
                chunk.removeAll()
            }
            func nextLine() throws -> [UInt8]? {
                do {
                    return try reader.next()
                } catch let error as LedgerError {
                    throw LedgerError(
                        error.code,
                        error.message + " (\(appended) events before this line's chunk were committed)",
                        line: error.line
                    )
                }
            }
            while let line = try nextLine() {
                do {
                    try chunk.add(line: line, number: reader.lineNumber, catalogue: catalogue)
                } catch let error as LedgerError {
                    throw LedgerError(
                        error.code,
                        error.message + " (\(appended) events before this line's chunk were committed)",
                        line: reader.lineNumber
                    )
                }
                if chunk.isFull {
                    try flush()
                    progress.update(reader.bytesConsumed)
                }
            }
            try flush()
            if global.json {
                Output.line(
                    JSONValue.object([("appended", .int(Int64(appended))), ("replayed", .int(Int64(replayed)))])
                        .serialized
                )
            } else {
                Output.line("Imported \(appended) events (\(replayed) already present)")
            }
        }
    }
}
