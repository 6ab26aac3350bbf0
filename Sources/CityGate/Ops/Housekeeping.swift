import Foundation
import Logging
import Synchronization

/// Periodic clean-up of records that have outlived their purpose: replay records past their
/// window, revocations and refresh tokens past their expiry. Without it `gateway.db` grows by a
/// row per partner call for ever (every call signs a new nonce).
///
/// ```
///   start ─► run every job now (a backlog from before a restart goes first) ─► sleep interval ─► …
/// ```
///
/// A job that fails is logged and tried again on the next round; nothing here is urgent.
final class Housekeeping: Sendable {
    /// One clean-up: its name for the log, and the work (given Unix seconds, returns rows removed).
    struct Job: Sendable {
        let name: String
        let run: @Sendable (Int64) async throws -> Int
    }

    private let jobs: [Job]
    private let interval: Duration
    private let clock: @Sendable () -> Int64
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(
        interval: Duration, jobs: [Job],
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) {
        self.interval = interval
        self.jobs = jobs
        self.clock = clock
    }

    /// Starts the rounds (the first at once).
    func start() {
        let started = Task { [self] in
            while !Task.isCancelled {
                await runOnce()
                try? await Task.sleep(for: interval)
            }
        }
        task.withLock { $0 = started }
    }

    /// Stops after the round in progress.
    func stop() {
        task.withLock { task in
            task?.cancel()
            task = nil
        }
    }

    /// One round of every job.
    func runOnce() async {
        let now = clock()
        for job in jobs {
            do {
                let removed = try await job.run(now)
                if removed > 0 { Log.info("housekeeping", ["job": job.name, "removed": "\(removed)"]) }
            } catch {
                Log.error("housekeeping failed", ["job": job.name, "error": IdempotencyStage.code(error)])
            }
        }
    }
}
