import Foundation
import HTTPClient
import Synchronization

/// Hot reload: build and validate the new set off to the side, then swap it in atomically.
///
/// ```
///   SIGHUP / POST /admin/reload ─► ManifestSet.load (all or nothing)
///        ├► invalid: the running set stays; the problems are returned
///        └► valid:   new snapshot (verifiers, backend clients), probes started, swap,
///                    old probes stopped; requests in flight finish on the old snapshot
/// ```
///
/// One reload at a time: a second request waits for the first instead of racing it.
public final class Reloader: Sendable {
    private let directory: String
    private let active: ActiveConfiguration
    private let replayStore: ReplayStore
    private let client: HTTPClient
    private let serial = Mutex<Void>(())

    init(directory: String, active: ActiveConfiguration, replayStore: ReplayStore, client: HTTPClient) {
        self.directory = directory
        self.active = active
        self.replayStore = replayStore
        self.client = client
    }

    /// Reloads; returns the new set's hash, or every problem (and the old set stays in force).
    public func reload() -> Result<ManifestSet, ConfigProblems> {
        serial.withLock { _ in
            switch ManifestSet.load(directory: directory) {
            case .failure(let problems):
                return .failure(problems)
            case .success(let manifests):
                // Serialized by `serial`, so the snapshot read here is the one replaced below.
                let snapshot = ConfigurationSnapshot(
                    manifests: manifests, replayStore: replayStore, client: client, previous: active.snapshot)
                let old = active.replace(with: snapshot)
                snapshot.takeOverProbing(from: old)
                return .success(manifests)
            }
        }
    }
}
