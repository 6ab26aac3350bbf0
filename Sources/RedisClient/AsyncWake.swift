import Synchronization

/// A wait that ends at a deadline or as soon as someone calls ``wake()`` (one waiter at a time):
/// the sentinel watcher sleeps between questions and is woken early by a `READONLY` reply.
final class AsyncWake: Sendable {
    private let waiter = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let woken = Mutex(false)

    /// Waits up to `duration`, less when woken (a wake with no waiter ends the next wait at once).
    func wait(upTo duration: Duration) async {
        if woken.withLock({ flag in
            defer { flag = false }; return flag
        }) {
            return
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            waiter.withLock { $0 = continuation }
            Task {
                try? await Task.sleep(for: duration)
                self.resume()
            }
        }
    }

    /// Ends the current wait now.
    func wake() {
        if !resume() { woken.withLock { $0 = true } }
    }

    @discardableResult
    private func resume() -> Bool {
        guard
            let continuation = waiter.withLock({ current in
                defer { current = nil }; return current
            })
        else {
            return false
        }
        continuation.resume()
        return true
    }
}
