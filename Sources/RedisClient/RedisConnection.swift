import CHiredis
import EventLoops
import Logging

/// One hiredis asynchronous connection driven by one event loop: hiredis asks to watch its
/// socket through the adapter hooks, the loop reports readiness, replies arrive in callbacks on
/// the loop thread. Commands are pipelined (hiredis queues them in order). A command not
/// answered in time, or a lost connection, fails every command waiting on it; the next command
/// reconnects, at most once a second while the server stays away. Loop thread only.
///
/// The address is asked for at each connect, so a client following Sentinel reconnects to the
/// new master after ``drop()``; a `READONLY` error reply (the server was demoted to a replica)
/// is reported through `onReadOnly`.
final class RedisConnection: DescriptorWatcher, LoopTimer {
    /// A command waiting for its reply.
    final class Pending {
        let deadline: UInt64
        let resume: (Result<RedisReply, RedisError>) -> Void
        var done = false
        init(deadline: UInt64, resume: @escaping (Result<RedisReply, RedisError>) -> Void) {
            self.deadline = deadline
            self.resume = resume
        }
        func finish(_ result: Result<RedisReply, RedisError>) {
            guard !done else { return }
            done = true
            resume(result)
        }
    }

    let loop: EventLoop
    /// The server to connect to now; nil while it is unknown (commands then fail at once).
    let address: () -> RedisAddress?
    let timeoutNanoseconds: UInt64
    let onStateChange: (Bool) -> Void
    let onReadOnly: () -> Void
    private var context: UnsafeMutablePointer<redisAsyncContext>?
    private var fd: Int32 = -1
    private var wantRead = false
    private var wantWrite = false
    private var connected = false
    private var pending: [Pending] = []
    private var lastAttempt: UInt64 = 0
    private var timerAdded = false

    init(
        loop: EventLoop, address: @escaping () -> RedisAddress?, timeout: Duration,
        onStateChange: @escaping (Bool) -> Void, onReadOnly: @escaping () -> Void = {}
    ) {
        self.loop = loop
        self.address = address
        self.onReadOnly = onReadOnly
        self.timeoutNanoseconds =
            UInt64(timeout.components.seconds) * 1_000_000_000
            + UInt64(timeout.components.attoseconds / 1_000_000_000)
        self.onStateChange = onStateChange
    }

    /// Sends `arguments` and calls `resume` once with the reply or the failure.
    func send(_ arguments: [[UInt8]], resume: @escaping (Result<RedisReply, RedisError>) -> Void) {
        if !timerAdded {
            loop.addTimer(self)
            timerAdded = true
        }
        guard let context = connectIfNeeded() else {
            resume(.failure(.unavailable("not connected")))
            return
        }
        let waiting = Pending(deadline: EventLoop.monotonicNanoseconds() &+ timeoutNanoseconds, resume: resume)
        let box = Unmanaged.passRetained(waiting).toOpaque()
        // hiredis formats the command into its output buffer before returning: the argument
        // pointers are needed only inside this call.
        let status = Self.withArgv(arguments) { argv, lengths in
            redisAsyncCommandArgv(
                context,
                { context, reply, privdata in
                    guard let privdata else { return }
                    let waiting = Unmanaged<Pending>.fromOpaque(privdata).takeRetainedValue()
                    if let reply = reply?.assumingMemoryBound(to: redisReply.self) {
                        let copied = RedisReply(reply)
                        if case .error(let text) = copied, text.hasPrefix("READONLY"),
                            let owner = context.flatMap({ RedisConnection.from($0.pointee.data) })
                        {
                            owner.onReadOnly()
                        }
                        waiting.finish(.success(copied))
                    } else {
                        waiting.finish(.failure(.unavailable("the connection closed")))
                    }
                }, box, Int32(arguments.count), argv, lengths)
        }
        guard status == REDIS_OK else {
            Unmanaged<Pending>.fromOpaque(box).release()
            resume(.failure(.unavailable("the command could not be queued")))
            return
        }
        pending.append(waiting)
    }

    static func withArgv<T>(
        _ arguments: [[UInt8]], _ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> T
    ) -> T {
        // Copies we own (an empty argument gets a one-byte buffer and length 0).
        let buffers = arguments.map { bytes -> UnsafeMutablePointer<CChar> in
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
            for (index, byte) in bytes.enumerated() { buffer[index] = CChar(bitPattern: byte) }
            return buffer
        }
        defer { buffers.forEach { $0.deallocate() } }
        let argv = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: max(buffers.count, 1))
        defer { argv.deallocate() }
        for (index, buffer) in buffers.enumerated() { argv[index] = UnsafePointer(buffer) }
        let lengths = UnsafeMutablePointer<Int>.allocate(capacity: max(arguments.count, 1))
        defer { lengths.deallocate() }
        for (index, argument) in arguments.enumerated() { lengths[index] = argument.count }
        return body(argv, UnsafePointer(lengths))
    }

    private func connectIfNeeded() -> UnsafeMutablePointer<redisAsyncContext>? {
        if let context { return context }
        let now = EventLoop.monotonicNanoseconds()
        // While the server is away, one attempt a second; commands fail fast meanwhile.
        guard lastAttempt == 0 || now &- lastAttempt >= 1_000_000_000 else { return nil }
        lastAttempt = now
        guard let server = address() else { return nil }
        guard let made = redisAsyncConnect(server.host, server.port) else { return nil }
        if made.pointee.err != 0 {
            Log.error("redis connect failed", ["host": server.host, "port": "\(server.port)"])
            redisAsyncFree(made)
            return nil
        }
        context = made
        fd = made.pointee.c.fd
        made.pointee.ev.data = Unmanaged.passUnretained(self).toOpaque()
        made.pointee.ev.addRead = { data in RedisConnection.from(data)?.interest(read: true) }
        made.pointee.ev.delRead = { data in RedisConnection.from(data)?.interest(read: false) }
        made.pointee.ev.addWrite = { data in RedisConnection.from(data)?.interest(write: true) }
        made.pointee.ev.delWrite = { data in RedisConnection.from(data)?.interest(write: false) }
        made.pointee.ev.cleanup = { data in RedisConnection.from(data)?.released() }
        made.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        redisAsyncSetConnectCallback(made) { context, status in
            guard let owner = context.flatMap({ RedisConnection.from($0.pointee.data) }) else { return }
            owner.connectFinished(ok: status == REDIS_OK)
        }
        redisAsyncSetDisconnectCallback(made) { context, _ in
            guard let owner = context.flatMap({ RedisConnection.from($0.pointee.data) }) else { return }
            owner.disconnected()
        }
        return made
    }

    static func from(_ data: UnsafeMutableRawPointer?) -> RedisConnection? {
        data.map { Unmanaged<RedisConnection>.fromOpaque($0).takeUnretainedValue() }
    }

    private func interest(read: Bool? = nil, write: Bool? = nil) {
        if let read { wantRead = read }
        if let write { wantWrite = write }
        guard fd >= 0 else { return }
        if wantRead || wantWrite {
            _ = loop.watch(fd, readable: wantRead, writable: wantWrite, by: self)
        } else {
            loop.unwatch(fd)
        }
    }

    /// hiredis is done with the socket (the context is being freed).
    private func released() {
        if fd >= 0 { loop.unwatch(fd) }
        fd = -1
        wantRead = false
        wantWrite = false
    }

    private func connectFinished(ok: Bool) {
        if ok {
            setConnected(true)
        } else {
            // hiredis frees the context after this callback.
            context = nil
            fail(.unavailable("connect failed"))
        }
    }

    private func disconnected() {
        // hiredis frees the context after this callback.
        context = nil
        setConnected(false)
        fail(.unavailable("the connection closed"))
    }

    /// Reports a change of state (only a change: a failed connect that was never up is none).
    private func setConnected(_ up: Bool) {
        guard connected != up else { return }
        connected = up
        onStateChange(up)
    }

    private func fail(_ error: RedisError) {
        let waiting = pending
        pending.removeAll()
        for entry in waiting { entry.finish(.failure(error)) }
    }

    func descriptorReady(_ fd: Int32, events: DescriptorEvents) {
        guard let context else { return }
        if events.readable || events.failed { redisAsyncHandleRead(context) }
        // The read may have freed the context (a closed connection).
        if events.writable, let context = self.context { redisAsyncHandleWrite(context) }
        pending.removeAll { $0.done }
    }

    var dueAt: UInt64? { pending.first(where: { !$0.done })?.deadline }

    /// The oldest command is overdue: the connection is dropped and everything waiting on it fails.
    func fire() {
        pending.removeAll { $0.done }
        guard let oldest = pending.first, oldest.deadline <= EventLoop.monotonicNanoseconds() else { return }
        let waiting = pending
        pending.removeAll()
        for entry in waiting { entry.finish(.failure(.timeout)) }
        if let context {
            self.context = nil
            setConnected(false)
            // The callbacks of the commands still queued run now with no reply: they are done.
            redisAsyncFree(context)
        }
    }

    /// Drops the connection (its server is no longer the master): what waits on it fails, and
    /// the next command connects to the address then in force, without waiting a second.
    func drop() {
        fail(.unavailable("the master changed"))
        if let context {
            self.context = nil
            setConnected(false)
            redisAsyncFree(context)
        }
        lastAttempt = 0
    }

    /// Closes the connection (at shutdown).
    func close() {
        if timerAdded {
            loop.removeTimer(self)
            timerAdded = false
        }
        fail(.closed)
        if let context {
            self.context = nil
            setConnected(false)
            redisAsyncFree(context)
        }
    }
}
