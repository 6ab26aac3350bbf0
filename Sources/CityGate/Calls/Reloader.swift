import Foundation
import HTTPClient
import HTTPServer
import Logging
import Store
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
    private let audit: (any AuditKeeping)?
    /// The public listener's TLS credentials, replaced when `gateway.json` `tls` changes.
    private let tls: TLSCredentials?
    private let serial = Mutex<Void>(())
    /// Tells the other instances to reload, when they share state (``ReloadBroadcast``).
    private let announcer = Mutex<(@Sendable () async -> Void)?>(nil)

    /// The trigger of a reload another instance asked for: it is not announced again.
    static let clusterTrigger = "cluster"

    /// After each successful reload not itself caused by another instance's, runs `announce`.
    func announceReloads(with announce: @escaping @Sendable () async -> Void) {
        announcer.withLock { $0 = announce }
    }

    init(
        directory: String, active: ActiveConfiguration, replayStore: ReplayStore, client: HTTPClient,
        audit: (any AuditKeeping)? = nil, tls: TLSCredentials? = nil
    ) {
        self.tls = tls
        self.directory = directory
        self.active = active
        self.replayStore = replayStore
        self.client = client
        self.audit = audit
    }

    /// Reloads; returns the new set's hash, or every problem (and the old set stays in force).
    /// Either way the attempt goes to the audit trail, with `trigger` (`SIGHUP`, `admin`),
    /// before this returns.
    public func reload(trigger: String) async -> Result<ManifestSet, ConfigProblems> {
        let result = swap(trigger: trigger)
        let now = Int64(Date().timeIntervalSince1970)
        do {
            switch result {
            case .success(let manifests):
                try await audit?.append(
                    kind: "manifests.reloaded", at: now, fields: ["trigger": trigger, "sha256": manifests.contentHash])
            case .failure(let problems):
                try await audit?.append(
                    kind: "manifests.refused", at: now,
                    fields: ["trigger": trigger, "problems": problems.problems.count])
            }
        } catch {
            Log.error("audit record failed", ["event": "reload", "error": StoreErrorCode.of(error)])
        }
        return result
    }

    /// Loads and, when valid, swaps the new set in; one at a time.
    private func swap(trigger: String) -> Result<ManifestSet, ConfigProblems> {
        serial.withLock { _ in
            let result = ManifestSet.load(directory: directory).flatMap(applyTLS)
            switch result {
            case .failure(let problems):
                return .failure(problems)
            case .success(let manifests):
                // Serialized by `serial`, so the snapshot read here is the one replaced below.
                let snapshot = ConfigurationSnapshot(
                    manifests: manifests, replayStore: replayStore, client: client, previous: active.snapshot)
                audit?.use(manifests.auditHash)
                let old = active.replace(with: snapshot)
                snapshot.takeOverProbing(from: old)
                if trigger != Self.clusterTrigger, let announce = announcer.withLock({ $0 }) {
                    Task { await announce() }
                }
                return .success(manifests)
            }
        }
    }

    /// Serves the new set's certificate to new connections (the open ones keep theirs). TLS is
    /// turned on or off only by a restart: the listener's protocol does not change under its
    /// clients.
    private func applyTLS(_ manifests: ManifestSet) -> Result<ManifestSet, ConfigProblems> {
        func refused(_ path: String, _ message: String) -> Result<ManifestSet, ConfigProblems> {
            .failure(ConfigProblems(problems: [ConfigProblem(file: "gateway.json", path: path, message: message)]))
        }
        switch (tls, manifests.tls) {
        case (nil, nil): return .success(manifests)
        case (nil, .some): return refused("$.tls", "TLS is turned on only at a restart (the listener speaks cleartext)")
        case (.some, nil): return refused("$.tls", "TLS is turned off only at a restart (the listener speaks TLS)")
        case (.some(let credentials), .some(let settings)):
            do {
                try credentials.replace(with: settings.material)
                return .success(manifests)
            } catch {
                return refused("$.tls", error.description)
            }
        }
    }
}
