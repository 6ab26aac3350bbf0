import Foundation

/// A throwaway `redis-server` on a free loopback port, started and stopped with
/// scripts/redis.sh (the script the cluster demo uses too).
public final class RedisServer: Sendable {
    /// What the server is.
    public enum Role: Sendable {
        /// A server of its own (a master).
        case primary
        /// A replica of another server.
        case replica(of: UInt16)
        /// A Sentinel watching a master under a name.
        case sentinel(watching: UInt16, name: String)
    }

    /// The port it listens on.
    public let port: UInt16
    /// What it is.
    public let role: Role
    private let directory: String

    /// Starts one (throws when redis-server is missing: `make test` installs it).
    public init(_ role: Role = .primary) async throws {
        port = try RawClient.unusedPort()
        self.role = role
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("redis-\(UUID().uuidString)").path
        try await start()
    }

    /// `redis://127.0.0.1:PORT`, or for a sentinel `redis+sentinel://127.0.0.1:PORT/NAME`.
    public var url: String {
        if case .sentinel(_, let name) = role { return "redis+sentinel://127.0.0.1:\(port)/\(name)" }
        return "redis://127.0.0.1:\(port)"
    }

    /// Starts it (again) on the same port.
    public func start() async throws {
        let arguments: [String]
        switch role {
        case .primary: arguments = ["start", "\(port)", directory]
        case .replica(let master): arguments = ["replica", "\(port)", directory, "\(master)"]
        case .sentinel(let master, let name): arguments = ["sentinel", "\(port)", directory, "\(master)", name]
        }
        let result = try await ExternalProcess.run(script, arguments)
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
