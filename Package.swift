// swift-tools-version: 6.1
import PackageDescription

// Targets and the direction of their dependencies are described in docs/ARCHITECTURE.md.
let package = Package(
    name: "Hearth",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "hearth", targets: ["hearth"]),
        .library(name: "HearthEngine", targets: ["HearthEngine"]),
        .library(name: "HearthGGUF", targets: ["HearthGGUF"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/JohnSundell/Ink", from: "0.6.0"),
    ],
    targets: [
        .target(name: "HearthSIMD"),
        .target(name: "HearthKernels", dependencies: ["HearthSIMD"]),
        .target(name: "HearthGGUF", dependencies: ["HearthKernels"]),
        .target(name: "HearthTokenizer", dependencies: ["HearthGGUF"]),
        .target(name: "HearthTemplate"),
        .target(name: "HearthEngine",
                dependencies: ["HearthKernels", "HearthSIMD", "HearthGGUF", "HearthTokenizer", "HearthTemplate"]),
        .target(name: "HearthAPI"),
        .target(name: "HearthHub", dependencies: [
            "HearthGGUF", "HearthTemplate",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "HearthServer", dependencies: [
            "HearthEngine", "HearthGGUF", "HearthAPI", "HearthHub",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Ink", package: "Ink"),
        ]),
        .executableTarget(name: "hearth", dependencies: [
            "HearthEngine", "HearthGGUF", "HearthKernels", "HearthTokenizer", "HearthTemplate", "HearthServer", "HearthHub",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], linkerSettings: [.unsafeFlags(["-Xclang-linker", "-no-pie"])]),
        .target(name: "HearthTestSupport", dependencies: ["HearthGGUF", "HearthKernels"]),
        .testTarget(name: "HearthKernelsTests", dependencies: ["HearthKernels", "HearthSIMD", "HearthTestSupport"],
                    resources: [.copy("Golden")]),
        .testTarget(name: "HearthGGUFTests", dependencies: ["HearthGGUF", "HearthTestSupport"],
                    resources: [.copy("Golden")]),
        .testTarget(name: "HearthTokenizerTests",
                    dependencies: ["HearthTokenizer", "HearthGGUF", "HearthTestSupport"],
                    resources: [.copy("Golden")]),
        .testTarget(name: "HearthTemplateTests", dependencies: ["HearthTemplate", "HearthTestSupport"],
                    resources: [.copy("Golden")]),
        .testTarget(name: "HearthEngineTests",
                    dependencies: ["HearthEngine", "HearthGGUF", "HearthKernels", "HearthTestSupport"],
                    resources: [.copy("Golden")]),
        .testTarget(name: "HearthHubTests", dependencies: ["HearthHub", "HearthGGUF", "HearthTestSupport"]),
        .testTarget(name: "HearthServerTests",
                    dependencies: ["HearthServer", "HearthAPI", "HearthEngine", "HearthHub", "HearthTestSupport",
                                   .product(name: "HummingbirdTesting", package: "hummingbird"),
                                   .product(name: "HTTPTypes", package: "swift-http-types")],
                    resources: [.copy("Golden")]),
    ]
)
