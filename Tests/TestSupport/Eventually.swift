/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
///
/// For assertions about background work (probes, timers): a fixed sleep is fragile on a loaded
/// 2-core machine, while the ceiling here only matters when something is really wrong.
public func eventually(
    timeout: Duration = .seconds(10),
    every interval: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}
