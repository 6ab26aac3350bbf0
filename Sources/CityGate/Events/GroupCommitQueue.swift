import Dispatch
import Foundation
import Synchronization

/// One write to an inbox: an event to store, or a delivery outcome to record.
enum InboxWrite: Sendable {
    case append(Inbox.NewEvent)
    case record(Inbox.Outcome)
}

/// The queue of an inbox (``Inbox``, ``SharedInbox``): writes are events and outcomes, each
/// answered with what was stored or why not.
typealias InboxCommitQueue = GroupCommitQueue<InboxWrite, Result<Inbox.Appended, InboxError>>

extension GroupCommitQueue where Outcome == Result<Inbox.Appended, InboxError> {
    /// An inbox's queue: a refused write fails with the inbox's own error.
    convenience init(
        threadName: String, commit: @escaping Commit, finish: @escaping @Sendable () -> Void = {}
    ) {
        self.init(
            threadName: threadName, commit: commit, finish: finish,
            refusal: { code, message in .failure(InboxError(code: code, message: message)) })
    }
}

/// The group commit the inboxes (``Inbox``, ``SharedInbox``) and the shared audit trail
/// (``SharedAuditLog``) write through.
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
final class GroupCommitQueue<Write: Sendable, Outcome: Sendable>: Sendable {
    /// Writes one batch, in order, and returns one result per write (run on the writer thread only).
    typealias Commit = @Sendable ([Write]) -> [Outcome]

    private struct Waiting {
        let write: Write
        let continuation: CheckedContinuation<Outcome, Never>
    }

    private struct Queue {
        var waiting: [Waiting] = []
        var stopped = false
    }

    private let queue = Mutex(Queue())
    private let wakeUp = DispatchSemaphore(value: 0)
    /// The outcome of a write the queue could not commit (`stopping`, `internal`).
    private let refusal: @Sendable (_ code: String, _ message: String) -> Outcome

    /// Starts the writer thread `threadName`; `finish` runs on it once it stops (closing what
    /// `commit` holds). `refusal` makes the outcome of a write that was never committed.
    init(
        threadName: String, commit: @escaping Commit, finish: @escaping @Sendable () -> Void = {},
        refusal: @escaping @Sendable (_ code: String, _ message: String) -> Outcome
    ) {
        self.refusal = refusal
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
    func submit(_ write: Write) async -> Outcome {
        await withCheckedContinuation { continuation in
            let accepted = queue.withLock { queue -> Bool in
                guard !queue.stopped else { return false }
                queue.waiting.append(Waiting(write: write, continuation: continuation))
                return true
            }
            if accepted {
                wakeUp.signal()
            } else {
                continuation.resume(returning: refusal("stopping", "the store is stopping"))
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
                            : refusal("internal", "no result for a queued write"))
                }
            }
            if stopped { return }
        }
    }
}
