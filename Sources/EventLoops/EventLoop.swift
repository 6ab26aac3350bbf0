import CSystemLinux
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One thread, one epoll instance, and the sockets registered on it.
///
/// The loop is also a Swift `TaskExecutor`: request handlers are started with the loop as their
/// preferred executor, so a handler that does not hop elsewhere runs on the thread that owns its
/// connection and its response is written without any cross-thread hand-off.
///
/// ```
///   epoll_wait ─► wake fd            drain the eventfd counter
///              ├► socket token       the loop's socket owner (the HTTP server: listeners and
///              │                     connections, read / parse / dispatch / write to EAGAIN)
///              └► descriptor token   a DescriptorWatcher (libcurl's sockets, later Redis, PostgreSQL)
///   due LoopTimers, then queued jobs and closures (tasks, completions from other threads),
///   then end-of-turn work (one write for the turn's log lines, one commit for its records)
///   every 250 ms: the socket owner's sweep (the server expires its deadlines)
/// ```
///
/// The loop knows nothing of HTTP: the server installs itself as the ``socketOwner``, the
/// outbound client and the state stores watch descriptors and keep timers.
public final class EventLoop: TaskExecutor, @unchecked Sendable {
    // @unchecked: the mutable state below the queue is touched only on the loop's own thread
    // (every entry point from elsewhere goes through `queue` + `wake`); `queue`, `threadID` and
    // `stopRequested` are synchronised themselves.

    enum Work {
        case job(UnownedJob)
        case closure(@Sendable () -> Void)
    }

    static let wakeToken: UInt64 = 0
    /// Tokens of watched descriptors: this bit plus the descriptor. Socket owners use tokens
    /// from 1 up to below it.
    package static let descriptorTokenBit: UInt64 = 1 << 62
    static let sweepInterval: UInt64 = 250_000_000

    /// The loop's position in its group.
    public let index: Int
    package let epollFD: Int32
    let wakeFD: Int32
    private let queue = Mutex<[Work]>([])
    private let threadID = Atomic<UInt>(0)
    private let stopRequested = Atomic<Bool>(false)

    // Loop-thread state.
    private var spareQueue: [Work] = []
    /// Monotonic nanoseconds at the start of this turn's work.
    package var now: UInt64 = 0
    /// Who handles events on socket tokens (below ``descriptorTokenBit``): the HTTP server.
    /// Set once, on the loop thread.
    package var socketOwner: (any LoopSocketOwner)?
    /// Descriptors other parts of the process watch on this loop (libcurl's sockets).
    var descriptorWatchers: [Int32: any DescriptorWatcher] = [:]
    /// Deadlines other parts of the process keep on this loop (libcurl's timer).
    var timers: [any LoopTimer] = []
    /// Work held back until this turn's queue has run (batched writes: log lines, replay records).
    var endOfTurn: [() -> Void] = []

    init(index: Int) throws(SocketError) {
        self.index = index
        let epollFD = try SystemCall.run("epoll_create1") { citygate_epoll_create() }
        let wakeFD: Int32
        do {
            wakeFD = try SystemCall.run("eventfd") { citygate_eventfd() }
            _ = try SystemCall.run("epoll_ctl(ADD eventfd)") {
                citygate_epoll_add(epollFD, wakeFD, citygate_epollin | citygate_epollet, EventLoop.wakeToken)
            }
        } catch {
            SystemCall.close(epollFD)
            throw error
        }
        self.epollFD = epollFD
        self.wakeFD = wakeFD
    }

    deinit {
        SystemCall.close(wakeFD)
        SystemCall.close(epollFD)
    }

    /// Whether the caller runs on this loop's thread.
    package var inLoopThread: Bool {
        let owner = threadID.load(ordering: .acquiring)
        return owner != 0 && pthread_equal(pthread_t(owner), pthread_self()) != 0
    }

    /// Runs a job of a task that prefers this loop (TaskExecutor).
    public func enqueue(_ job: consuming ExecutorJob) {
        submit(.job(UnownedJob(job)))
    }

    /// The loop whose thread is the caller's, if any.
    public static var current: EventLoop? {
        guard let pointer = citygate_current_loop() else { return nil }
        return Unmanaged<EventLoop>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// Whether the calling thread is this loop's (no reference taken: cheap enough to ask per
    /// request).
    public var isCurrent: Bool { citygate_current_loop() == Unmanaged.passUnretained(self).toOpaque() }

    /// Runs `body` on the loop thread on its next turn, even when called from the loop thread
    /// (so it never runs inside a callback the caller is in the middle of).
    public func schedule(_ body: @escaping @Sendable () -> Void) {
        submit(.closure(body))
    }

    /// Runs `body` on the loop thread: now if already there, otherwise on its next turn.
    package func execute(_ body: @escaping @Sendable () -> Void) {
        if inLoopThread {
            body()
        } else {
            submit(.closure(body))
        }
    }

    /// Runs `body` on the loop thread and returns its result.
    package func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            submit(.closure { continuation.resume(returning: body()) })
        }
    }

    private func submit(_ work: Work) {
        let wasEmpty = queue.withLock { queue in
            let wasEmpty = queue.isEmpty
            queue.append(work)
            return wasEmpty
        }
        if wasEmpty && !inLoopThread { wake() }
    }

    private func wake() {
        var one: UInt64 = 1
        // EAGAIN only when the counter is saturated, in which case the loop is waking anyway.
        _ = Glibc.write(wakeFD, &one, 8)
    }

    /// Asks the loop to exit after its current turn.
    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        wake()
    }

    /// The loop body; returns when stopped.
    func runLoop() {
        threadID.store(UInt(pthread_self()), ordering: .releasing)
        citygate_set_current_loop(Unmanaged.passUnretained(self).toOpaque())
        // A turn's log lines leave in one write at its end.
        let logs = LogBuffer { [self] buffer in atEndOfTurn { buffer.flush() } }
        LogBuffer.install(logs)
        defer {
            logs.flush()
            LogBuffer.install(nil)
            citygate_set_current_loop(nil)
        }
        var events = [citygate_epoll_event](repeating: citygate_epoll_event(), count: 512)
        now = EventLoop.monotonicNow()
        var nextSweep = now + EventLoop.sweepInterval
        while !stopRequested.load(ordering: .acquiring) {
            let pending = !endOfTurn.isEmpty || queue.withLock { !$0.isEmpty }
            let wakeAt = min(nextSweep, nextTimerDeadline())
            let timeout: Int32 = pending || wakeAt <= now ? 0 : Int32((wakeAt - now) / 1_000_000) + 1
            let count = events.withUnsafeMutableBufferPointer { buffer in
                citygate_epoll_wait(epollFD, buffer.baseAddress, Int32(buffer.count), timeout)
            }
            now = EventLoop.monotonicNow()
            if count < 0 && errno != EINTR {
                Log.error("epoll_wait failed", ["errno": "\(errno)"])
            }
            for position in 0..<max(0, Int(count)) {
                let event = events[position]
                switch event.data {
                case EventLoop.wakeToken:
                    var counter: UInt64 = 0
                    _ = Glibc.read(wakeFD, &counter, 8)
                case EventLoop.descriptorTokenBit...:
                    let fd = Int32(truncatingIfNeeded: event.data & ~EventLoop.descriptorTokenBit)
                    descriptorWatchers[fd]?.descriptorReady(fd, events: DescriptorEvents(epoll: event.events))
                default:
                    socketOwner?.socketEvent(token: event.data, events: event.events)
                }
            }
            fireDueTimers()
            runQueuedWork()
            if now >= nextSweep {
                socketOwner?.sweep()
                nextSweep = now + EventLoop.sweepInterval
            }
        }
        runQueuedWork()
        // What is still held (log lines, and lines those write) goes out before the thread ends.
        for _ in 0..<8 where !endOfTurn.isEmpty {
            let held = endOfTurn
            endOfTurn = []
            for body in held { body() }
        }
    }

    /// Runs `body` on the loop thread once the work queued for this turn has run, before the loop
    /// waits for events again: the place to write what the turn's requests produced in one go
    /// (one `write` for many log lines, one commit for many replay records). Loop thread only.
    public func atEndOfTurn(_ body: @escaping () -> Void) {
        precondition(inLoopThread, "EventLoop.atEndOfTurn called off the loop thread")
        endOfTurn.append(body)
    }

    /// Runs queued jobs and closures, and timers they make due (libcurl asks for an immediate
    /// timeout when a transfer is added), then the end-of-turn work they left, in up to eight
    /// rounds.
    private func runQueuedWork() {
        let executor = asUnownedTaskExecutor()
        for _ in 0..<8 {
            var batch = queue.withLock { queue -> [Work] in
                swap(&queue, &spareQueue)
                return spareQueue
            }
            spareQueue = []
            if batch.isEmpty {
                if fireDueTimers() { continue }
                guard !endOfTurn.isEmpty else { return }
                let held = endOfTurn
                endOfTurn = []
                for body in held { body() }
                // What they resumed runs in the next round.
                continue
            }
            for work in batch {
                switch work {
                case .job(let job): job.runSynchronously(on: executor)
                case .closure(let body): body()
                }
            }
            batch.removeAll(keepingCapacity: true)
            spareQueue = batch
            now = EventLoop.monotonicNow()
        }
    }

    package static func monotonicNow() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}

/// The one owner of a loop's socket tokens (the HTTP server's per-loop state): it registers its
/// sockets with tokens from 1 to below ``EventLoop/descriptorTokenBit`` and hears of their events.
package protocol LoopSocketOwner: AnyObject {
    /// Events (epoll bits) on the socket registered with `token`.
    func socketEvent(token: UInt64, events: UInt32)
    /// Called every 250 ms on the loop thread: the place to expire deadlines.
    func sweep()
}
