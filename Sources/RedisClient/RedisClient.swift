import EventLoops
import Foundation
import Synchronization

/// A Redis client on the gateway's own event loops: one pipelined connection per loop, each
/// command answered on the loop that sent it (no thread hops for a handler running there).
///
/// ```
///   let redis = try RedisClient(url: "redis://127.0.0.1:6379", loops: group)
///   let reply = try await redis.command("SET", "k", "1", "NX", "PX", "300000")
/// ```
public final class RedisClient: Sendable {
    /// Why a URL cannot be used.
    public struct URLError: Error, CustomStringConvertible {
        public let description: String
    }

    let group: EventLoopGroup
    let host: String
    let port: Int32
    let timeout: Duration
    /// Carries a loop's connection to that loop (it is touched only there).
    final class ConnectionBox: @unchecked Sendable {
        let connection: RedisConnection
        init(_ connection: RedisConnection) { self.connection = connection }
    }

    /// Per loop index, made on that loop the first time it sends.
    private let connections = Mutex<[Int: ConnectionBox]>([:])
    private let connectedCount = Atomic<Int>(0)
    private let everConnected = Atomic<Bool>(false)

    /// `redis://HOST:PORT` (no password or database selection yet).
    public init(url: String, loops: EventLoopGroup, timeout: Duration = .milliseconds(500)) throws(URLError) {
        guard let parsed = URL(string: url), parsed.scheme == "redis", let host = parsed.host, !host.isEmpty else {
            throw URLError(description: "must be redis://HOST:PORT")
        }
        self.host = host
        self.port = Int32(parsed.port ?? 6379)
        self.group = loops
        self.timeout = timeout
    }

    /// Whether some loop's connection is up (for `/readyz`).
    public var isConnected: Bool { connectedCount.load(ordering: .relaxed) > 0 }

    /// Sends one command and waits for its reply.
    public func command(_ arguments: String...) async throws(RedisError) -> RedisReply {
        try await command(arguments.map { Array($0.utf8) })
    }

    /// Sends one command (arguments as bytes) and waits for its reply.
    public func command(_ arguments: [[UInt8]]) async throws(RedisError) -> RedisReply {
        let loop = EventLoop.current ?? group.loops[0]
        let result = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<RedisReply, RedisError>, Never>) in
            loop.execute { [self] in
                connection(on: loop).send(arguments) { continuation.resume(returning: $0) }
            }
        }
        return try result.get()
    }

    /// This loop's connection (loop thread only).
    private func connection(on loop: EventLoop) -> RedisConnection {
        if let existing = connections.withLock({ $0[loop.index] }) { return existing.connection }
        let made = RedisConnection(loop: loop, host: host, port: port, timeout: timeout) { [self] up in
            connectedCount.add(up ? 1 : -1, ordering: .relaxed)
            if up { everConnected.store(true, ordering: .relaxed) }
        }
        connections.withLock { $0[loop.index] = ConnectionBox(made) }
        return made
    }

    /// Closes every connection (each on its loop).
    public func shutdown() async {
        let all = connections.withLock { table -> [(Int, ConnectionBox)] in
            defer { table.removeAll() }
            return table.map { ($0.key, $0.value) }
        }
        for (index, box) in all {
            await group.loops[index].run { box.connection.close() }
        }
    }
}
