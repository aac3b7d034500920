import Foundation
import Testing

/// Rules of the architecture that the compiler cannot check inside one module, checked over the
/// sources: LMDB and its raw handles stay in `Sources/Ledger/Storage`, and every write transaction
/// is begun there, so the order in which the two environments commit is decided in one place
/// (`PairedWriteTransaction`), never by a caller by hand; and OpenSSL stays in the one cipher,
/// `Sources/Ledger/Keys/AESGCM.swift`.
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

    /// The one file that may name OpenSSL (and its handles, which are `OpaquePointer`s too).
    static let cipherFile = "Sources/Ledger/Keys/AESGCM.swift"

    /// What only ``cipherFile`` may name.
    static let cipherOnly = ["COpenSSL", "EVP_", "OSSL_", "OPENSSL_"]

    /// Each line of code (comments cut off) outside the files `allowed` accepts that names one of `names`.
    static func offences(naming names: [String], outside allowed: (String) -> Bool) throws -> [String] {
        var offences: [String] = []
        for (path, text) in try sources() where !allowed(path) {
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                for name in names where code.contains(name) {
                    offences.append("\(path):\(number + 1) names \(name)")
                }
            }
        }
        return offences
    }

    @Test func lmdbAndItsHandlesStayInStorage() throws {
        let offences = try Self.offences(naming: Self.storageOnly) { path in
            path.hasPrefix("Sources/Ledger/Storage/")
        }
        // The cipher's OpenSSL handle is an OpaquePointer as well; it may name that and nothing else.
        let lmdbOffences = offences.filter {
            !($0.hasPrefix(Self.cipherFile + ":") && $0.hasSuffix("names OpaquePointer"))
        }
        #expect(lmdbOffences.isEmpty, "outside Storage: \(lmdbOffences.joined(separator: "; "))")
    }

    @Test func openSSLStaysInTheOneCipher() throws {
        let offences = try Self.offences(naming: Self.cipherOnly) { $0 == Self.cipherFile }
        #expect(offences.isEmpty, "outside \(Self.cipherFile): \(offences.joined(separator: "; "))")
        // Guards the rule against passing because the file moved.
        #expect(try Self.sources().contains { $0.path == Self.cipherFile && $0.text.contains("EVP_EncryptInit_ex2") })
    }
}
