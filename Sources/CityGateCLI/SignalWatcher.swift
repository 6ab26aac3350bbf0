import CSystemLinux
import Foundation
import HTTPServer
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Turns process signals into something `await`-able. A C handler writes each signal to a pipe
/// (a signal handler itself may do almost nothing safely) and a thread of the watcher reads it.
///
/// Why not Dispatch signal sources: they register asynchronously, and until they have, the signal
/// is ignored (SIG_IGN) and dropped. Under load a SIGINT sent right after start-up was lost that
/// way and the gateway never drained (a test waited 20 minutes for it). The handler here is
/// installed before `init` returns.
final class SignalWatcher: Sendable {
    private final class Flag: Sendable {
        let isSet = Atomic<Bool>(false)
    }

    private let stream: AsyncStream<Int32>
    private let exitOnSignal = Flag()

    init(signals: [Int32]) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        self.stream = stream
        var descriptors: [pollfd] = []
        for signalNumber in signals {
            let fd = citygate_signal_pipe(signalNumber)
            guard fd >= 0 else {
                // Only an invalid number or no descriptors left; the gateway still runs, and a
                // second chance would not fare better.
                Log.error("signal handler not installed", ["signal": "\(signalNumber)", "errno": "\(errno)"])
                continue
            }
            descriptors.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
        }
        let flag = exitOnSignal
        let watched = descriptors
        let thread = Thread {
            var descriptors = watched
            while !descriptors.isEmpty {
                let ready = poll(&descriptors, nfds_t(descriptors.count), -1)
                if ready < 0 && errno != EINTR { return }
                for index in descriptors.indices where descriptors[index].revents != 0 {
                    var byte: UInt8 = 0
                    guard read(descriptors[index].fd, &byte, 1) == 1 else { continue }
                    if flag.isSet.load(ordering: .acquiring) { exit(1) }
                    continuation.yield(Int32(byte))
                }
            }
        }
        thread.name = "citygate-signals"
        thread.start()
    }

    /// Waits for the next signal and returns its number; nil when the waiting task is
    /// cancelled (which is not a signal: a cancelled reload loop must not reload).
    func next() async -> Int32? {
        for await signal in stream { return signal }
        return nil
    }

    /// The conventional name of a signal, for logs.
    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGHUP: "SIGHUP"
        default: "signal \(signal)"
        }
    }

    /// From now on, a further signal exits at once (an operator who insists).
    func exitOnNextSignal() {
        exitOnSignal.isSet.store(true, ordering: .releasing)
    }
}
