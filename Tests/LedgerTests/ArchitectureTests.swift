import Foundation
import Testing

/// Rules of the architecture that the compiler cannot check inside one module, checked over the
/// sources: LMDB and its raw handles stay in `Sources/Ledger/Storage`, and every write transaction
/// is begun there, so the order in which the two environments commit is decided in one place
/// (`PairedWriteTransaction`), never by a caller by hand.
@Suite struct ArchitectureTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// What only `Sources/Ledger/Storage` may name.
    static let storageOnly = [
        "OpaquePointer", "mdb_", "MDB_", "CLMDB", ".txn", "beginWrite(", "withTransactions(", "TransactionWriter(",
    ]

    /// Every Swift file under `Sources`, as (path relative to the repository, text).
    static func sources() throws -> [(path: String, text: String)] {
        let root = repository.appendingPathComponent("Sources")
        guard let walker = FileManager.default.enumerator(atPath: root.path) else { return [] }
        var files: [(String, String)] = []
        for case let relative as String in walker where relative.hasSuffix(".swift") {
            let text = try String(contentsOfFile: root.appendingPathComponent(relative).path, encoding: .utf8)
            files.append(("Sources/" + relative, text))
        }
        return files
    }

    @Test func theSourcesAreFound() throws {
        // Guards the other tests against passing on an empty walk.
        let paths = try Self.sources().map(\.path)
        #expect(paths.contains("Sources/Ledger/Storage/PairedWriteTransaction.swift"))
        #expect(paths.count > 50)
    }

    @Test func lmdbAndItsHandlesStayInStorage() throws {
        var offences: [String] = []
        for (path, text) in try Self.sources() where !path.hasPrefix("Sources/Ledger/Storage/") {
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                for name in Self.storageOnly where code.contains(name) {
                    offences.append("\(path):\(number + 1) names \(name)")
                }
            }
        }
        #expect(offences.isEmpty, "outside Storage: \(offences.joined(separator: "; "))")
    }
}
