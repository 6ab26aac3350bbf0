import EventLoops
import Foundation
import Logging
import Synchronization

/// A Redis client on the gateway's own event loops: one pipelined connection per loop, each
/// command answered on the loop that sent it (no thread hops for a handler running there).
///
/// ```
///   let redis = try RedisClient(url: "redis://127.0.0.1:6379", loops: group)
///   let reply = try await redis.command("SET", "k", "1", "NX", "PX", "300000")
/// ```
///
/// With `redis+sentinel://S1,S2,S3/MASTER` the client asks the sentinels which server is the
/// master (every 500 ms, and at once when a server answers `READONLY`); when the answer
/// changes, every loop's connection is dropped and the next command connects to the new master.
/// Between the old master's failure and the sentinels' promotion, commands fail (the gateway's
/// failure policy applies: docs/scaling.md).
public final class RedisClient: Sendable {
    /// Why a URL cannot be used.
    public struct URLError: Error, CustomStringConvertible {
        public let description: String
    }

    let group: EventLoopGroup
    let endpoint: RedisEndpoint
    let timeout: Duration
    /// The server commands go to: the direct address, or the master the sentinels named last.
    private let master: Mutex<RedisAddress?>
    /// Asks the sentinels, when the endpoint is Sentinel.
    private let watcher = Mutex<Task<Void, Never>?>(nil)
    private let wakeWatcher = AsyncWake()
    /// Carries a loop's connection to that loop (it is touched only there).
    final class ConnectionBox: @unchecked Sendable {
        let connection: RedisConnection
        init(_ connection: RedisConnection) { self.connection = connection }
    }

    /// Per loop index, made on that loop the first time it sends.
    private let connections = Mutex<[Int: ConnectionBox]>([:])
    private let connectedCount = Atomic<Int>(0)
    private let everConnected = Atomic<Bool>(false)

    /// `redis://HOST:PORT` or `redis+sentinel://HOST:PORT,…/MASTER` (no password or database
    /// selection yet).
    public init(url: String, loops: EventLoopGroup, timeout: Duration = .milliseconds(500)) throws(URLError) {
        let endpoint = try RedisEndpoint.parse(url).get()
        self.endpoint = endpoint
        self.group = loops
        self.timeout = timeout
        switch endpoint {
        case .direct(let address):
            master = Mutex(address)
        case .sentinel(let sentinels, let name):
            master = Mutex(nil)
            let clients = sentinels.map { RedisClient(address: $0, loops: loops, timeout: timeout) }
            watcher.withLock {
                $0 = Task { [weak self] in
                    while !Task.isCancelled {
                        guard let self else { return }
                        await self.askSentinels(clients, name: name)
                        await self.wakeWatcher.wait(upTo: .milliseconds(500))
                    }
                    for client in clients { await client.shutdown() }
                }
            }
        }
    }

    /// A client of one server (a sentinel).
    private init(address: RedisAddress, loops: EventLoopGroup, timeout: Duration) {
        endpoint = .direct(address)
        group = loops
        self.timeout = timeout
        master = Mutex(address)
    }

    /// The server commands go to now (nil while the sentinels have not named one).
    public var currentMaster: RedisAddress? { master.withLock { $0 } }

    /// Asks each sentinel in turn for the master's address until one answers; on a change,
    /// drops every connection so the next command goes to the new master.
    private func askSentinels(_ sentinels: [RedisClient], name: String) async {
        for sentinel in sentinels {
            guard
                case .array(let parts)? = try? await sentinel.command("SENTINEL", "get-master-addr-by-name", name),
                parts.count == 2, case .string(let hostBytes) = parts[0], case .string(let portBytes) = parts[1],
                let port = Int32(String(decoding: portBytes, as: UTF8.self))
            else { continue }
            let named = RedisAddress(host: String(decoding: hostBytes, as: UTF8.self), port: port)
            let previous = master.withLock { current -> RedisAddress? in
                defer { current = named }
                return current
            }
            if previous != named {
                Log.info("redis master", ["master": "\(named)", "previous": previous.map { "\($0)" } ?? "none"])
                if previous != nil { dropConnections() }
            }
            return
        }
    }

    /// Drops every loop's connection (each on its loop); the next command reconnects.
    private func dropConnections() {
        let all = connections.withLock { table in table.map { ($0.key, $0.value) } }
        for (index, box) in all { group.loops[index].execute { box.connection.drop() } }
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
        let made = RedisConnection(
            loop: loop, address: { [self] in master.withLock { $0 } }, timeout: timeout,
            onStateChange: { [self] up in
                connectedCount.add(up ? 1 : -1, ordering: .relaxed)
                if up { everConnected.store(true, ordering: .relaxed) }
            },
            onReadOnly: { [self] in
                // A demoted master: ask the sentinels now rather than at the next tick.
                if case .sentinel = endpoint { wakeWatcher.wake() }
            })
        connections.withLock { $0[loop.index] = ConnectionBox(made) }
        return made
    }

    /// Closes every connection (each on its loop) and stops asking the sentinels.
    public func shutdown() async {
        if let task = watcher.withLock({ $0 }) {
            task.cancel()
            wakeWatcher.wake()
            await task.value
        }
        let all = connections.withLock { table -> [(Int, ConnectionBox)] in
            defer { table.removeAll() }
            return table.map { ($0.key, $0.value) }
        }
        for (index, box) in all {
            await group.loops[index].run { box.connection.close() }
        }
    }
}
