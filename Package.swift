// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "ConsentLedger",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Ledger", targets: ["Ledger"]),
        .library(name: "Projections", targets: ["Projections"]),
        // For processes that embed the server (the HTTP fuzz target): `EmbeddedServer` only.
        .library(name: "LedgerServer", targets: ["LedgerServer"]),
        .executable(name: "ledgerctl", targets: ["ledgerctl"]),
        .executable(name: "ledger-bench", targets: ["ledger-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        // AES-256-GCM through OpenSSL's EVP interface, which writes into the caller's buffer
        // without swift-crypto's per-call objects (Sources/Ledger/Keys/AESGCM.swift says why).
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "Ledger",
            dependencies: [
                "CLMDB",
                "COpenSSL",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "Projections",
            dependencies: [
                "Ledger",
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "LedgerClient"),
        // The socket server: routes, the group-commit writer and the connection handlers, driven
        // by `ledgerctl serve` and, in process, by Tests/LedgerServerTests.
        .target(
            name: "LedgerServer",
            dependencies: [
                "Ledger",
                "Projections",
                "LedgerClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // The privacy officer's dashboard: a read-only web listener on loopback TCP beside the
        // socket server (`ledgerctl serve --dashboard`), with its pages computed from the ledger.
        .target(
            name: "Dashboard",
            dependencies: [
                "Ledger",
                "Projections",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .executableTarget(
            name: "ledgerctl",
            dependencies: [
                "Ledger",
                "Projections",
                "LedgerClient",
                "LedgerServer",
                "Dashboard",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "ledger-bench",
            dependencies: [
                "Ledger", "Projections", "LedgerClient", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/ledger-bench"
        ),
        // What both test targets use (a tmpfs for full-disk tests); not part of the product.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // The golden fixture "a year at Activepeople", for every suite that checks figures
        // against it; not part of the product.
        .target(
            name: "GoldenFixture",
            dependencies: ["Ledger", "Projections", "TestSupport", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/GoldenFixture"
        ),
        .testTarget(
            name: "LedgerTests",
            dependencies: [
                "Ledger", "Projections", "TestSupport", "GoldenFixture",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: []
        ),
        .testTarget(
            name: "LedgerctlTests",
            dependencies: ["ledgerctl", "LedgerClient", "TestSupport", "GoldenFixture"]
        ),
        .testTarget(
            name: "LedgerServerTests",
            dependencies: [
                "Ledger",
                "Projections",
                "LedgerServer",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "DashboardTests",
            dependencies: [
                "Dashboard",
                "Ledger",
                "Projections",
                "GoldenFixture",
                "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ]
)
