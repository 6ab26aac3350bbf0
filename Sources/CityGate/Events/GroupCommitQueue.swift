import Dispatch
import Foundation
import Synchronization

/// One write to an inbox: an event to store, or a delivery outcome to record.
enum InboxWrite: Sendable {
    case append(Inbox.NewEvent)
    case record(Inbox.Outcome)
}

/// The group commit both inboxes (``Inbox``, ``SharedInbox``) write through.
///
/// ```
///   caller ─ submit(write) ─► queue ─┐
///   caller ─ submit(write) ─► queue ─┼─► writer thread: commit(batch) (one transaction) ─► resume every waiter
///   caller ─ submit(write) ─► queue ─┘
/// ```
///
/// Every write that arrives while one commit runs goes into the next, so a durable store keeps
/// a high rate at one flush per batch; no waiter is resumed before the commit holding its write
/// returned, and none inside the lock.
final class GroupCommitQueue: Sendable {
    /// Writes one batch, in order, and returns one result per write (run on the writer thread only).
    typealias Commit = @Sendable ([InboxWrite]) -> [Result<Inbox.Appended, InboxError>]

    private struct Waiting {
        let write: InboxWrite
        let continuation: CheckedContinuation<Result<Inbox.Appended, InboxError>, Never>
    }

    private struct Queue {
        var waiting: [Waiting] = []
        var stopped = false
    }

    private let queue = Mutex(Queue())
    private let wakeUp = DispatchSemaphore(value: 0)

    /// Starts the writer thread `threadName`; `finish` runs on it once it stops (closing what
    /// `commit` holds).
    init(threadName: String, commit: @escaping Commit, finish: @escaping @Sendable () -> Void = {}) {
        let thread = Thread { [self] in
            writeLoop(commit)
            finish()
        }
        thread.name = threadName
        thread.start()
    }

    /// Stops the writer after the writes already queued; later ones fail.
    func stop() {
        queue.withLock { $0.stopped = true }
        wakeUp.signal()
    }

    /// Queues `write` and returns its result once its batch is committed.
    func submit(_ write: InboxWrite) async -> Result<Inbox.Appended, InboxError> {
        await withCheckedContinuation { continuation in
            let accepted = queue.withLock { queue -> Bool in
                guard !queue.stopped else { return false }
                queue.waiting.append(Waiting(write: write, continuation: continuation))
                return true
            }
            if accepted {
                wakeUp.signal()
            } else {
                continuation.resume(returning: .failure(InboxError(code: "stopping", message: "the inbox is stopping")))
            }
        }
    }

    private func writeLoop(_ commit: Commit) {
        while true {
            wakeUp.wait()
            let (batch, stopped) = queue.withLock { queue -> ([Waiting], Bool) in
                let batch = queue.waiting
                queue.waiting.removeAll(keepingCapacity: true)
                return (batch, queue.stopped)
            }
            if !batch.isEmpty {
                let results = commit(batch.map(\.write))
                for (index, waiting) in batch.enumerated() {
                    waiting.continuation.resume(
                        returning: index < results.count
                            ? results[index]
                            : .failure(InboxError(code: "internal", message: "no result for a queued write")))
                }
            }
            if stopped { return }
        }
    }
}
