import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Turns process signals into something `await`-able, through Dispatch signal sources (a signal
/// handler itself may do almost nothing safely).
final class SignalWatcher: @unchecked Sendable {
    // @unchecked: `sources` is written once in init and only kept alive afterwards; the stream
    // and the flag are thread-safe themselves.
    private final class Flag: Sendable {
        let isSet = Atomic<Bool>(false)
    }

    private let stream: AsyncStream<Int32>
    private let sources: [any DispatchSourceSignal]
    private let exitOnSignal = Flag()

    init(signals: [Int32]) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        self.stream = stream
        let queue = DispatchQueue(label: "citygate.signals")
        let flag = exitOnSignal
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in signals {
            // The default action would end the process before the source sees the signal.
            _ = signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler {
                if flag.isSet.load(ordering: .acquiring) { exit(1) }
                continuation.yield(signalNumber)
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    /// Waits for the first signal.
    func first() async {
        for await _ in stream { return }
    }

    /// From now on, a further signal exits at once (an operator who insists).
    func exitOnNextSignal() {
        exitOnSignal.isSet.store(true, ordering: .releasing)
    }
}
