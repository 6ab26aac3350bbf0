import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A fixed set of event loops, each on its own thread; by default one per core.
public final class EventLoopGroup: Sendable {
    /// The loops.
    public let loops: [EventLoop]
    private let threads = Mutex<[pthread_t]>([])
    private let nextToken = Atomic<UInt64>(1)

    /// The number of online cores.
    public static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Creates the loops and starts their threads.
    /// - Parameter threadCount: how many loops; defaults to one per core.
    public init(threadCount: Int = EventLoopGroup.coreCount) throws(SocketError) {
        var loops: [EventLoop] = []
        for index in 0..<max(1, threadCount) {
            loops.append(try EventLoop(index: index))
        }
        self.loops = loops
        var started: [pthread_t] = []
        for loop in loops {
            started.append(try EventLoopGroup.spawnThread { loop.runLoop() })
        }
        threads.withLock { $0 = started }
    }

    /// A token for a new listener, distinct from connection ids.
    package func makeListenerToken() -> UInt64 {
        nextToken.add(1, ordering: .relaxed).oldValue
    }

    /// Stops every loop and waits for its thread. Shut servers down first.
    public func shutdown() {
        for loop in loops { loop.requestStop() }
        let joined = threads.withLock { threads in
            let current = threads
            threads = []
            return current
        }
        for thread in joined { pthread_join(thread, nil) }
    }

    private final class ThreadBody {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    private static func spawnThread(_ body: @escaping () -> Void) throws(SocketError) -> pthread_t {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(ThreadBody(body))
        let result = pthread_create(
            &thread, nil,
            { argument in
                guard let argument else { return nil }
                Unmanaged<ThreadBody>.fromOpaque(argument).takeRetainedValue().body()
                return nil
            }, box.toOpaque())
        guard result == 0 else {
            box.release()
            throw SocketError(call: "pthread_create", code: result)
        }
        return thread
    }
}
