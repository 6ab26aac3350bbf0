import Foundation

/// Runs blocking work (socket reads, process waits) on its own thread, so it never occupies one of
/// the few cooperative-pool threads that the code under test needs to make progress.
public func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try body() })
        }
    }
}
