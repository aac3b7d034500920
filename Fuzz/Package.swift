// swift-tools-version:6.0
import Foundation
import PackageDescription

// The libFuzzer targets of the product's input parsers (docs/FUZZING.md). Built and run by
// `scripts/fuzz`, with `swift build --sanitize=fuzzer --sanitize=address`: SwiftPM then links
// libFuzzer's `main` instead of the executable's own entry point.

/// The root package's identity is its folder's name (`main`, a worktree's name…).
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let rootIdentity = root.lastPathComponent.lowercased()

/// One executable per target; `-parse-as-library` since libFuzzer supplies `main`.
func fuzzTarget(_ name: String, _ products: [String]) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzSupport"] + products.map { .product(name: $0, package: rootIdentity) },
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]
    )
}

let package = Package(
    name: "ConsentLedgerFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "FuzzSupport"),
        fuzzTarget("FuzzClientEvent", ["Ledger"]),
        fuzzTarget("FuzzNDJSON", ["Ledger"]),
        fuzzTarget("FuzzCatalogue", ["Ledger"]),
        fuzzTarget("FuzzExportVerifier", ["Ledger"]),
        fuzzTarget("FuzzProof", ["Ledger", "Projections"]),
        fuzzTarget("FuzzHTTP", ["Ledger", "LedgerServer"]),
    ]
)
