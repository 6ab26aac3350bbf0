// swift-tools-version:6.1
import PackageDescription

/// One set of compiler settings for every Swift target: Swift 6 language mode with the
/// upcoming features that keep imports and existentials explicit.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
]

let package = Package(
    name: "CityGate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "citygate", targets: ["CityGateCLI"]),
        .library(name: "HTTPCore", targets: ["HTTPCore"]),
        .library(name: "Logging", targets: ["Logging"]),
        .library(name: "EventLoops", targets: ["EventLoops"]),
        .library(name: "HTTPServer", targets: ["HTTPServer"]),
        .library(name: "HTTPClient", targets: ["HTTPClient"]),
        .library(name: "Cryptography", targets: ["Cryptography"]),
        .library(name: "Store", targets: ["Store"]),
        .executable(name: "citygate-client-bench", targets: ["ClientBench"]),
        .executable(name: "citygate-mock-backends", targets: ["MockBackends"]),
        .executable(name: "citygate-verifier-fuzzer", targets: ["VerifierFuzzer"]),
    ],
    targets: [
        // C system libraries, each wrapped once. No SwiftPM package dependencies, ever.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // Redis for shared state across instances (gateway.json "state"), driven by the loops.
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // PostgreSQL for the shared inbox and token state (gateway.json "state.postgres").
        .systemLibrary(
            name: "CLibpq",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // Linux-only syscalls (epoll, eventfd, accept4) that need _GNU_SOURCE.
        .target(
            name: "CSystemLinux",
            cSettings: [.define("_GNU_SOURCE")]
        ),
        // Pure HTTP values and the incremental parser: no I/O, no Foundation, fuzzable.
        .target(name: "HTTPCore", swiftSettings: swiftSettings),
        // Structured JSON log lines with personal data masked; buffered per event-loop turn by
        // whoever installs a LogBuffer on its thread, so nothing here knows the loops.
        .target(
            name: "Logging",
            dependencies: ["HTTPCore", "CSystemLinux"],
            swiftSettings: swiftSettings
        ),
        // The epoll loops (threads that are also TaskExecutors), their descriptor watchers,
        // timers and end-of-turn work: what the server, the outbound client and later the
        // shared-state clients run on, with no HTTP in it.
        .target(
            name: "EventLoops",
            dependencies: ["Logging", "CSystemLinux"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HTTPServer",
            dependencies: ["HTTPCore", "EventLoops", "Logging", "CSystemLinux", "COpenSSL"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HTTPClient",
            // The client runs on the event loops (see docs/architecture.md), not on the server.
            dependencies: ["HTTPCore", "EventLoops", "Logging", "CCurl"],
            swiftSettings: swiftSettings
        ),
        // A pipelined Redis client on the event loops (hiredis's async API with the loops as its
        // event library): shared replay window and, as #18 lands, limits and token state.
        .target(
            name: "RedisClient",
            dependencies: ["EventLoops", "Logging", "CHiredis"],
            swiftSettings: swiftSettings
        ),
        // Blocking libpq connections on a few dedicated threads, awaited by async callers: the
        // shared inbox with delivery leases and the shared token state.
        .target(
            name: "PostgresClient",
            dependencies: ["CLibpq"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Cryptography",
            dependencies: ["COpenSSL"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Store",
            dependencies: ["CSQLite"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CityGate",
            dependencies: [
                "HTTPCore", "Logging", "EventLoops", "HTTPServer", "HTTPClient", "Cryptography", "Store", "RedisClient",
                "PostgresClient",
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "CityGateCLI",
            dependencies: ["CityGate", "Logging", "EventLoops", "HTTPServer", "CSystemLinux"],
            swiftSettings: swiftSettings
        ),
        // Helpers shared by the test targets: a raw socket client and a process runner.
        .target(
            name: "TestSupport", dependencies: ["COpenSSL"], path: "Tests/TestSupport", swiftSettings: swiftSettings),
        // Mock government backends for the sample manifests (external systems: demos and tests).
        .executableTarget(
            name: "MockBackends",
            // COpenSSL: SHA-1 for checking WS-Security password digests the way a real SOAP
            // stack does, without the gateway's own Cryptography module.
            dependencies: ["EventLoops", "HTTPCore", "HTTPServer", "COpenSSL"],
            path: "mocks/MockBackends",
            swiftSettings: swiftSettings
        ),
        // `make bench` only: drives concurrent requests through HTTPClient.
        .executableTarget(
            name: "ClientBench",
            dependencies: ["EventLoops", "HTTPClient", "HTTPCore", "HTTPServer"],
            path: "bench/ClientBench",
            swiftSettings: swiftSettings
        ),
        // `make fuzz` only: libFuzzer over every partner verifier (see the file's header).
        .executableTarget(
            name: "VerifierFuzzer",
            dependencies: ["CityGate", "Cryptography", "HTTPCore"],
            path: "Tests/Fuzz/VerifierFuzzer",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SystemLibraryTests",
            dependencies: ["CCurl", "COpenSSL", "CSQLite", "CSystemLinux"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HTTPCoreTests",
            dependencies: ["HTTPCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LoggingTests",
            dependencies: ["Logging"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HTTPServerTests",
            dependencies: ["EventLoops", "HTTPCore", "HTTPServer", "TestSupport"],
            // Run as an external client by the tests, not compiled.
            exclude: ["Clients/http_client_check.py"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HTTPClientTests",
            dependencies: ["EventLoops", "HTTPClient", "HTTPCore", "HTTPServer", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CryptographyTests",
            dependencies: ["Cryptography", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CityGateTests",
            dependencies: [
                "CityGate", "Cryptography", "EventLoops", "HTTPCore", "HTTPServer", "HTTPClient", "Store",
                "TestSupport", "RedisClient", "PostgresClient",
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
