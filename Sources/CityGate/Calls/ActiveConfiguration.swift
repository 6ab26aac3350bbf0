import HTTPClient
import Store
import Synchronization

/// Everything derived from one manifest set: the set, a verifier per partner and a client per
/// city backend. A request takes the snapshot current when it starts and finishes on it, so a
/// later swap (hot reload) never mixes two sets inside one request.
public final class ConfigurationSnapshot: Sendable {
    /// The manifests.
    public let manifests: ManifestSet
    /// The same set behind a reference, for ``TokenService/pinned``.
    let pin: Pin

    /// A manifest set behind one reference: what a request pins for its whole run.
    final class Pin: Sendable {
        let manifests: ManifestSet
        init(_ manifests: ManifestSet) { self.manifests = manifests }
    }
    /// Partner id → authenticator.
    let authenticators: [String: PartnerAuthenticator]
    /// "city/backend" (``backendKey(city:backend:)``) → client.
    let backends: [String: BackendClient]
    /// "city/backend" → the authenticator of its case progress reports (backends with
    /// `progressKeys` only): the `hmac-sha256` scheme with the backend's keys, replay-checked in
    /// a scope of its own (`backend:city/name`).
    let progressAuthenticators: [String: PartnerAuthenticator]
    /// `{secret.…}` values for backend requests, with the OAuth tokens fetched for them.
    let credentials: BackendCredentials

    /// The one spelling of a city's backend, as `backends` keys, metric labels and logs use it.
    static func backendKey(city: String, backend: String) -> String { "\(city)/\(backend)" }
    /// City code → service id → what a call there needs, for every service a city offers.
    let routes: [String: [String: ServiceRoute]]
    /// City code → service id → operation name → the call target, for every operation a city
    /// offers for calls: built once per snapshot, so resolving a call copies no manifest value.
    let targets: [String: [String: [String: CallContext.Target]]]
    /// Service id → the names of its operations (the access log's check of a path's names).
    let operationNames: [String: Set<String>]
    /// The pinned client certificates, by party (``ClientCertificateGate``).
    let certificatePins: CertificatePins

    /// Builds the snapshot of `manifests`. Backends whose definition is the same as in
    /// `previous` (the snapshot a reload replaces) keep their client, and with it the circuit
    /// breaker, the bulkhead's count and the health history: a reload that touched another file
    /// must not reopen a breaker that protects a failing backend.
    init(manifests: ManifestSet, replayStore: ReplayStore, client: HTTPClient, previous: ConfigurationSnapshot? = nil) {
        self.manifests = manifests
        pin = Pin(manifests)
        certificatePins = CertificatePins(manifests)
        var authenticators: [String: PartnerAuthenticator] = [:]
        for (id, partner) in manifests.partners {
            authenticators[id] = PartnerAuthenticator(partner: partner, replayStore: replayStore)
        }
        self.authenticators = authenticators
        var backends: [String: BackendClient] = [:]
        for (code, city) in manifests.cities {
            for (name, entry) in city.backends {
                let backend = Backend(
                    name: Self.backendKey(city: code, backend: name), baseURL: entry.baseURL,
                    tls: TLSOptions(
                        caFile: entry.caFile, clientCertificateFile: entry.clientCertificateFile,
                        clientKeyFile: entry.clientKeyFile),
                    maxInFlight: entry.maxConnections, healthPath: entry.healthPath)
                let key = Self.backendKey(city: code, backend: name)
                if let kept = previous?.backends[key], kept.backend == backend {
                    backends[key] = kept
                } else {
                    backends[key] = BackendClient(backend: backend, client: client)
                }
            }
        }
        self.backends = backends
        var progressAuthenticators: [String: PartnerAuthenticator] = [:]
        for (code, city) in manifests.cities {
            for name in city.backends.keys {
                guard let reporter = manifests.progressReporter(city: code, backend: name) else { continue }
                progressAuthenticators[Self.backendKey(city: code, backend: name)] = PartnerAuthenticator(
                    partner: reporter, replayStore: replayStore)
            }
        }
        self.progressAuthenticators = progressAuthenticators
        credentials = BackendCredentials(cities: manifests.cities, client: client)
        var routes: [String: [String: ServiceRoute]] = [:]
        var targets: [String: [String: [String: CallContext.Target]]] = [:]
        for (code, city) in manifests.cities {
            for serviceId in city.services.keys {
                guard let service = manifests.services[serviceId] else { continue }
                let route = ServiceRoute(city: city, service: service, backends: backends)
                routes[code, default: [:]][serviceId] = route
                for (name, operation) in service.operations where !operation.eventOnly {
                    targets[code, default: [:]][serviceId, default: [:]][name] = CallContext.Target(
                        city: city, service: service, operation: operation, route: route)
                }
            }
        }
        self.routes = routes
        self.targets = targets
        operationNames = manifests.services.mapValues { Set($0.operations.keys) }
    }

    /// Starts active health probes of every backend (at boot, not on first use).
    func startProbing() {
        for backend in backends.values { backend.startProbing() }
    }

    func stopProbing() {
        for backend in backends.values { backend.stopProbing() }
    }

    /// Hands probing over from `old` to this snapshot: backends new here start, backends only
    /// `old` had stop, and the ones carried over keep probing undisturbed.
    func takeOverProbing(from old: ConfigurationSnapshot) {
        let kept = Set(backends.values.map(ObjectIdentifier.init))
        for backend in backends.values where !old.backends.values.contains(where: { $0 === backend }) {
            backend.startProbing()
        }
        for backend in old.backends.values where !kept.contains(ObjectIdentifier(backend)) {
            backend.stopProbing()
        }
    }
}

/// The snapshot in force.
public final class ActiveConfiguration: Sendable {
    private let current: Mutex<ConfigurationSnapshot>

    init(_ snapshot: ConfigurationSnapshot) {
        current = Mutex(snapshot)
    }

    /// The snapshot to use for one request.
    public var snapshot: ConfigurationSnapshot { current.withLock { $0 } }

    /// Replaces the snapshot; requests that already took the old one finish on it.
    @discardableResult
    func replace(with snapshot: ConfigurationSnapshot) -> ConfigurationSnapshot {
        current.withLock { existing in
            let old = existing
            existing = snapshot
            return old
        }
    }
}
