import CSystemLinux

#if canImport(Glibc)
    import Glibc
#endif

/// Readiness of a watched descriptor, as one loop turn saw it.
public struct DescriptorEvents: Sendable, Equatable {
    /// Data (or end of stream) can be read.
    public var readable: Bool
    /// Data can be written.
    public var writable: Bool
    /// The descriptor reported an error or hang-up.
    public var failed: Bool

    init(epoll events: UInt32) {
        readable = events & (citygate_epollin | citygate_epollhup | citygate_epollrdhup) != 0
        writable = events & citygate_epollout != 0
        failed = events & citygate_epollerr != 0
    }
}

/// Something that reacts to a descriptor it asked its loop to watch. Called on the loop thread.
public protocol DescriptorWatcher: AnyObject {
    /// The descriptor is ready as `events` says.
    func descriptorReady(_ fd: Int32, events: DescriptorEvents)
}

/// A deadline kept on a loop: the loop sleeps no longer than `dueAt` and then calls `fire`.
/// Both are called on the loop thread.
public protocol LoopTimer: AnyObject {
    /// When to fire, in `EventLoop.monotonicNanoseconds()`; nil while nothing is due.
    var dueAt: UInt64? { get }
    /// The deadline has come.
    func fire()
}

/// Descriptors and timers of other parts of the process (the outbound client drives libcurl's
/// sockets and timer through these), so they share the loop's thread with the connections
/// whose handlers use them and need no thread hand-off.
extension EventLoop {
    /// The monotonic clock the loop and its timers use, in nanoseconds.
    public static func monotonicNanoseconds() -> UInt64 { monotonicNow() }

    /// Watches `fd` (level-triggered) for the given interest, replacing an earlier interest.
    /// Loop thread only. Returns 0 or the `errno` of `epoll_ctl`.
    public func watch(_ fd: Int32, readable: Bool, writable: Bool, by watcher: any DescriptorWatcher) -> Int32 {
        precondition(inLoopThread, "EventLoop.watch called off the loop thread")
        var events: UInt32 = 0
        if readable { events |= citygate_epollin }
        if writable { events |= citygate_epollout }
        let token = EventLoop.descriptorTokenBit | UInt64(UInt32(bitPattern: fd))
        let known = descriptorWatchers[fd] != nil
        var result =
            known
            ? citygate_epoll_modify(epollFD, fd, events, token) : citygate_epoll_add(epollFD, fd, events, token)
        // The kernel forgets a closed descriptor on its own; a number reused since is new to it.
        if result != 0 && known && errno == ENOENT { result = citygate_epoll_add(epollFD, fd, events, token) }
        guard result == 0 else { return errno }
        descriptorWatchers[fd] = watcher
        return 0
    }

    /// Stops watching `fd`. Call it before the descriptor is closed. Loop thread only.
    public func unwatch(_ fd: Int32) {
        precondition(inLoopThread, "EventLoop.unwatch called off the loop thread")
        guard descriptorWatchers.removeValue(forKey: fd) != nil else { return }
        _ = citygate_epoll_remove(epollFD, fd)
    }

    /// Stops watching every descriptor `watcher` watches (after its owner closed them all).
    /// Loop thread only.
    public func unwatchAll(by watcher: any DescriptorWatcher) {
        precondition(inLoopThread, "EventLoop.unwatchAll called off the loop thread")
        for (fd, owner) in descriptorWatchers where owner === watcher {
            descriptorWatchers[fd] = nil
            // EBADF when already closed, which is fine: the kernel dropped it then.
            _ = citygate_epoll_remove(epollFD, fd)
        }
    }

    /// Adds a timer the loop consults every turn. Loop thread only.
    public func addTimer(_ timer: any LoopTimer) {
        precondition(inLoopThread, "EventLoop.addTimer called off the loop thread")
        timers.append(timer)
    }

    /// Removes a timer added earlier. Loop thread only.
    public func removeTimer(_ timer: any LoopTimer) {
        precondition(inLoopThread, "EventLoop.removeTimer called off the loop thread")
        timers.removeAll { $0 === timer }
    }

    func nextTimerDeadline() -> UInt64 {
        var earliest = UInt64.max
        for timer in timers {
            if let due = timer.dueAt, due < earliest { earliest = due }
        }
        return earliest
    }

    /// Fires every timer that is due; returns whether any was.
    @discardableResult
    func fireDueTimers() -> Bool {
        guard !timers.isEmpty else { return false }
        now = EventLoop.monotonicNow()
        var fired = false
        for timer in timers {
            if let due = timer.dueAt, due <= now {
                timer.fire()
                fired = true
            }
        }
        return fired
    }
}
