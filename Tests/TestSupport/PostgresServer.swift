import Foundation

/// A throwaway PostgreSQL on a free loopback port, started by a test through
/// `scripts/postgres.sh` (the script `make run-cluster` uses), its data in a temporary directory.
public final class PostgresServer: Sendable {
    /// The port it listens on.
    public let port: UInt16
    private let directory: String

    /// Creates the cluster and starts it (throws when PostgreSQL is missing: `make test`
    /// installs it).
    public init() async throws {
        port = try RawClient.unusedPort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("postgres-\(UUID().uuidString)").path
        try await start()
    }

    /// `postgresql://citygate@127.0.0.1:PORT/postgres`.
    public var url: String { "postgresql://citygate@127.0.0.1:\(port)/postgres" }

    /// Starts it (again) on the same port and data.
    public func start() async throws {
        let result = try await ExternalProcess.run(script, ["start", "\(port)", directory])
        guard result.status == 0 else {
            throw RawClient.Failure(description: "postgres: \(result.standardError)")
        }
    }

    /// Stops it (committed data stays).
    public func stop() async throws {
        _ = try await ExternalProcess.run(script, ["stop", directory])
    }

    /// Stops it and deletes its data.
    public func destroy() async throws {
        try await stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) every process of this server: a server that stops
    /// answering without closing its connections.
    public func freeze(_ frozen: Bool) {
        ExternalProcess.runNow("/usr/bin/pkill", [frozen ? "-STOP" : "-CONT", "-f", directory])
    }

    /// Runs SQL through `psql` (an independent client), returning its unaligned output.
    public func psql(_ sql: String) async throws -> String {
        let result = try await ExternalProcess.run(
            "/usr/bin/psql", [url, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        guard result.status == 0 else { throw RawClient.Failure(description: "psql: \(result.standardError)") }
        return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stops it and deletes its data before returning (for a `defer`: a Task started there may
    /// never run, and the server would outlive the tests).
    public func destroyNow() {
        ExternalProcess.runNow(script, ["kill", directory])
        try? FileManager.default.removeItem(atPath: directory)
    }

    private var script: String { ExternalProcess.packageRoot.appendingPathComponent("scripts/postgres.sh").path }
}

/// A redis-server and a PostgreSQL for one test, as a cluster of instances shares them.
public final class SharedServers: Sendable {
    /// The Redis server.
    public let redis: RedisServer
    /// The PostgreSQL server.
    public let postgres: PostgresServer

    /// Starts both.
    public init() async throws {
        redis = try await RedisServer()
        do { postgres = try await PostgresServer() } catch {
            redis.stopNow()
            throw error
        }
    }

    /// Stops both before returning (for a `defer`).
    public func stopNow() {
        redis.stopNow()
        postgres.destroyNow()
    }
}
