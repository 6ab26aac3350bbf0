import Foundation
import Synchronization

/// A few dedicated threads, each owning one `PostgresConnection`, that run blocking calls for
/// async callers: libpq's calls never block an event loop or a cooperative thread.
///
/// ```
///   let pool = PostgresPool(url: url, size: 2)
///   let count = try await pool.run { try $0.query("SELECT count(*) FROM event").first?.integer(0) ?? 0 }
/// ```
public final class PostgresPool: Sendable {
    private struct Job {
        let work: @Sendable (PostgresConnection) -> Void
    }

    private struct Queue {
        var jobs: [Job] = []
        var stopped = false
    }

    private let queue = Mutex(Queue())
    private let ready = DispatchSemaphore(value: 0)
    private let lastSucceeded = Atomic<Bool>(true)
    /// The connection URL.
    public let url: String
    private let size: Int

    /// Starts `size` threads named `citygate-postgres-N`.
    public init(url: String, size: Int = 2, statementTimeoutMilliseconds: Int = 10_000) {
        self.url = url
        self.size = max(1, size)
        for index in 0..<self.size {
            let thread = Thread { [self] in
                let connection = PostgresConnection(
                    url: url, statementTimeoutMilliseconds: statementTimeoutMilliseconds)
                self.serve(connection)
            }
            thread.name = "citygate-postgres-\(index)"
            thread.start()
        }
    }

    /// Whether the last call reached the server (for `/readyz`).
    public var isReachable: Bool { lastSucceeded.load(ordering: .relaxed) }

    /// Runs `body` on a pool thread with its connection.
    @discardableResult
    public func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws(PostgresError) -> T)
        async throws(PostgresError) -> T
    {
        let result = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<T, PostgresError>, Never>) in
            let job = Job { [self] connection in
                let result = Result { () throws(PostgresError) -> T in try body(connection) }
                if case .failure(let error) = result, error.isConnectionFailure {
                    lastSucceeded.store(false, ordering: .relaxed)
                } else {
                    lastSucceeded.store(true, ordering: .relaxed)
                }
                continuation.resume(returning: result)
            }
            let accepted = queue.withLock { queue -> Bool in
                guard !queue.stopped else { return false }
                queue.jobs.append(job)
                return true
            }
            if accepted {
                ready.signal()
            } else {
                continuation.resume(
                    returning: .failure(PostgresError(message: "the pool is shut down", operation: "run")))
            }
        }
        return try result.get()
    }

    /// Stops the threads after the jobs already queued.
    public func shutdown() {
        queue.withLock { $0.stopped = true }
        for _ in 0..<size { ready.signal() }
    }

    private func serve(_ connection: PostgresConnection) {
        while true {
            ready.wait()
            let job = queue.withLock { queue -> Job?? in
                if !queue.jobs.isEmpty { return .some(queue.jobs.removeFirst()) }
                return queue.stopped ? .none : .some(nil)
            }
            switch job {
            case .none:
                connection.close()
                return
            case .some(.none): continue
            case .some(.some(let job)): job.work(connection)
            }
        }
    }
}
