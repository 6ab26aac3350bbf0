import Foundation

/// A throwaway `redis-server` on a free loopback port, started and stopped with
/// scripts/redis.sh (the script the cluster demo uses too).
public final class RedisServer: Sendable {
    /// The port it listens on.
    public let port: UInt16
    private let directory: String

    /// Starts one (throws when redis-server is missing: `make test` installs it).
    public init() async throws {
        port = try RawClient.unusedPort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("redis-\(UUID().uuidString)").path
        try await start()
    }

    /// `redis://127.0.0.1:PORT`.
    public var url: String { "redis://127.0.0.1:\(port)" }

    /// Starts it (again) on the same port.
    public func start() async throws {
        let result = try await ExternalProcess.run(script, ["start", "\(port)", directory])
        guard result.status == 0 else { throw RawClient.Failure(description: "redis: \(result.standardError)") }
    }

    /// Stops it (its data is gone: nothing is written to disk).
    public func stop() async throws {
        _ = try await ExternalProcess.run(script, ["stop", "\(port)"])
    }

    /// Stops it before returning (for a `defer`: a Task started there may never run, and the
    /// server would outlive the tests).
    public func stopNow() {
        ExternalProcess.runNow(script, ["stop", "\(port)"])
    }

    private var script: String { ExternalProcess.packageRoot.appendingPathComponent("scripts/redis.sh").path }
}
