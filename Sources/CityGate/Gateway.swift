import EventLoops
import Foundation
import HTTPClient
import HTTPCore
import HTTPServer
import Logging
import PostgresClient
import RedisClient
import Store
import Synchronization

/// The running gateway: the public listener for partners and the ops listener for operators,
/// sharing one event-loop group.
///
/// ```
///   public 127.0.0.1:8080  GET /healthz, GET /readyz   (partner routes join as issues land)
///   ops    127.0.0.1:9090  GET /healthz, GET /readyz
/// ```
public final class Gateway: Sendable {
    /// How to start the gateway.
    public struct Configuration: Sendable {
        /// The public listener's address; nil: `gateway.json` `listen`, else 127.0.0.1:8080.
        public var publicAddress: SocketAddress?
        /// The ops listener's address; nil: `gateway.json` `ops`, else 127.0.0.1:9090.
        public var opsAddress: SocketAddress?
        /// Event-loop threads; defaults to one per core.
        public var threadCount: Int
        /// Mounts `GET /bench/fixed` (a fixed 200-byte JSON body) for `make bench` only.
        public var benchmarkRoute: Bool
        /// Limits and timeouts of the HTTP layer, shared by both listeners.
        public var http: HTTPServer.Configuration
        /// The manifests tree (gateway.json, cities/, partners/, services/).
        public var manifestsDirectory: String
        /// Where the SQLite store lives (created if missing); nil: `gateway.json`
        /// `dataDirectory` (relative to the manifests directory), else `./data`.
        public var dataDirectory: String?
        /// How often expired replay records, revocations and refresh tokens are deleted.
        public var housekeepingInterval: Duration

        /// Creates a configuration with the documented defaults.
        public init(
            publicAddress: SocketAddress? = nil,
            opsAddress: SocketAddress? = nil,
            threadCount: Int = EventLoopGroup.coreCount,
            benchmarkRoute: Bool = false,
            http: HTTPServer.Configuration = HTTPServer.Configuration(),
            manifestsDirectory: String = "manifests",
            dataDirectory: String? = nil,
            housekeepingInterval: Duration = .seconds(60)
        ) {
            self.housekeepingInterval = housekeepingInterval
            self.manifestsDirectory = manifestsDirectory
            self.dataDirectory = dataDirectory
            self.publicAddress = publicAddress
            self.opsAddress = opsAddress
            self.threadCount = threadCount
            self.benchmarkRoute = benchmarkRoute
            self.http = http
        }
    }

    /// A 200-byte JSON body for the benchmark route, the same bytes nginx serves in `make bench`.
    public static let benchmarkBody: [UInt8] = {
        let prefix = "{\"service\":\"citygate\",\"city\":\"330100\",\"status\":\"ok\",\"padding\":\""
        let suffix = "\"}"
        let padding = String(repeating: "x", count: 200 - prefix.utf8.count - suffix.utf8.count)
        return Array((prefix + padding + suffix).utf8)
    }()

    /// Why the gateway could not start.
    public enum StartupError: Error, CustomStringConvertible {
        case manifests(ConfigProblems)
        case store(SQLiteError)
        case client(CurlError)
        case socket(SocketError)
        case dataDirectory(String)
        case tokenKeys(String)
        case tls(TLSError)
        /// A shared store (`state.postgres`) could not be opened.
        case sharedStore(String)

        /// What to tell the operator.
        public var description: String {
            switch self {
            case .manifests(let problems): "the manifests are invalid:\n\(problems)"
            case .store(let error): "the store cannot be opened: \(error)"
            case .client(let error): "the outbound client cannot start: \(error)"
            case .socket(let error): "\(error)"
            case .dataDirectory(let message): message
            case .tokenKeys(let message): message
            case .tls(let error): "gateway.json: $.tls: \(error)"
            case .sharedStore(let message): message
            }
        }
    }

    private let group: EventLoopGroup
    private let publicServer: HTTPServer
    private let opsServer: HTTPServer
    private let health: HealthChecks
    private let client: HTTPClient
    /// The OAuth token service.
    public let tokens: TokenService
    /// The durable event inbox and its delivery workers.
    let inbox: any EventInbox
    let deliveries: DeliveryWorker
    /// Deletes what has expired from gateway.db, and seals the audit chain.
    let housekeeping: Housekeeping
    /// Signs the audit chain's head.
    let sealKey: AuditSealKey
    /// Every instance reloads when one does, when they share Redis.
    let reloadBroadcast: ReloadBroadcast?
    /// Shared token state, when `gateway.json` `state.postgres` names a server.
    let sharedTokens: SharedTokenStore?
    /// The shared state's client, when `gateway.json` `state.redis` names one.
    let redis: RedisClient?
    /// The audit trail (sealed once more at shutdown).
    let audit: any AuditKeeping
    /// Counters and histograms for `/metrics`.
    let metrics = Metrics()
    /// Both servers, for the open-connections gauge (set once both exist).
    private let listeners = ListenerRegistry()

    /// The servers whose open connections `/metrics` reports.
    final class ListenerRegistry: Sendable {
        private let servers = Mutex<[HTTPServer]>([])
        func set(_ list: [HTTPServer]) { servers.withLock { $0 = list } }
        var openConnections: Int { servers.withLock { $0.reduce(0) { $0 + $1.openConnectionCount } } }
    }
    /// The configuration snapshot in force.
    public let active: ActiveConfiguration
    /// Hot reload of the manifests (SIGHUP, POST /admin/reload).
    public let reloader: Reloader

    /// Loads the manifests, opens the store, creates the loops and both servers; nothing is
    /// bound until ``start()``.
    public init(configuration: Configuration) throws(StartupError) {
        let manifests: ManifestSet
        switch ManifestSet.load(directory: configuration.manifestsDirectory) {
        case .success(let loaded): manifests = loaded
        case .failure(let problems): throw .manifests(problems)
        }
        // A command-line flag wins, then gateway.json, then the built-in default.
        let dataDirectory = configuration.dataDirectory ?? manifests.dataDirectory ?? "data"
        let publicAddress =
            configuration.publicAddress ?? manifests.listen ?? SocketAddress(host: "127.0.0.1", port: 8080)
        let opsAddress = configuration.opsAddress ?? manifests.ops ?? SocketAddress(host: "127.0.0.1", port: 9090)
        do {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw .dataDirectory("cannot create the data directory \(dataDirectory)")
        }
        let database: Database
        let replayStore: ReplayStore
        let localTokens: TokenStore
        let tokenStore: any TokenStateStore
        let localAudit: AuditLog
        let audit: any AuditKeeping
        var delegations: any DelegationKeeping
        let vault: IdentityVault
        let idempotency: IdempotencyStore
        let cases: any CaseKeeping
        do {
            // Replay records: WAL with synchronous=NORMAL survives a process crash; only a power
            // loss could forget the last few nonces. An fsync per partner call would cap the
            // gateway near the disk's fsync rate (measured: ~2.5k calls/s). The event inbox, where
            // an acknowledged event must never be lost, uses FULL with group commit instead.
            // Exclusive: the gateway is the file's only user (measured: the per-call lock
            // round trip was 2 % of a partner call); a second instance on the same data
            // directory fails at start instead of sharing replay records.
            database = try Database(
                path: dataDirectory + "/gateway.db", durability: .normal, exclusive: true)
            replayStore = try ReplayStore(database: database)
            localTokens = try TokenStore(database: database, now: Int64(Date().timeIntervalSince1970))
            delegations = try DelegationStore(database: database)
            localAudit = try AuditLog(database: database)
            idempotency = try IdempotencyStore(database: database)
        } catch {
            throw .store(error)
        }
        // Token state (refresh families, revocations, delegations, the identity vault):
        // PostgreSQL when instances share it, so a token works, and is revoked, on every one.
        var sharedTokens: SharedTokenStore?
        if let url = manifests.postgresURL {
            do { sharedTokens = try SharedTokenStore(url: url, now: Int64(Date().timeIntervalSince1970)) } catch {
                throw .sharedStore("gateway.json: $.state.postgres: \(error)")
            }
        }
        self.sharedTokens = sharedTokens
        // Idempotency keys: shared too, or a retried application landing on another instance
        // would reach the backend a second time.
        var callIdempotency: any IdempotencyKeeping = idempotency
        if let sharedTokens, let url = manifests.postgresURL {
            tokenStore = sharedTokens
            delegations = SharedDelegationStore(pool: sharedTokens.pool)
            let setup = PostgresConnection(url: url)
            defer { setup.close() }
            do {
                callIdempotency = try SharedIdempotencyStore(pool: sharedTokens.pool, setup: setup)
                // The audit trail: one chain for every instance.
                audit = try SharedAuditLog(url: url, pool: sharedTokens.pool, setup: setup)
            } catch {
                throw .sharedStore("gateway.json: $.state.postgres: \(error)")
            }
        } else {
            tokenStore = localTokens
            audit = localAudit
        }
        audit.use(manifests.auditHash)
        self.audit = audit
        // The event inbox: PostgreSQL when instances share it, else inbox.db beside gateway.db.
        if let url = manifests.postgresURL {
            do {
                inbox = try SharedInbox(url: url, owner: try InstanceIdentity.load(directory: dataDirectory))
            } catch {
                throw .sharedStore("gateway.json: $.state.postgres: \(error)")
            }
        } else {
            do {
                inbox = try Inbox(
                    path: dataDirectory + "/inbox.db",
                    maxBytes: Int64(manifests.events.maxInboxMegabytes) * 1_048_576)
            } catch {
                throw .store(error)
            }
        }
        let material: TokenKeyMaterial
        do { material = try TokenKeyMaterial.load(directory: dataDirectory) } catch {
            throw .tokenKeys(error.description)
        }
        var tls: TLSCredentials?
        if let settings = manifests.tls {
            do { tls = try TLSCredentials(settings.material) } catch { throw .tls(error) }
        }
        let sealKey: AuditSealKey
        do { sealKey = try AuditSealKey.load(directory: dataDirectory) } catch { throw .tokenKeys(error.description) }
        self.sealKey = sealKey
        do { group = try EventLoopGroup(threadCount: configuration.threadCount) } catch { throw .socket(error) }
        let limiter = RateLimiter()
        // Shared state: the replay window in Redis, so a request accepted by one instance is a
        // replay on every other (docs/scaling.md).
        var redis: RedisClient?
        if let url = manifests.redisURL {
            do { redis = try RedisClient(url: url, loops: group) } catch {
                group.shutdown()
                throw .tokenKeys("gateway.json: $.state.redis: \(error.description)")
            }
            if let redis {
                replayStore.share(RedisReplayWindow(redis: redis))
                limiter.share(RedisRateLimits(redis: redis, failOpen: manifests.sharedLimitsFailOpen))
            }
        }
        self.redis = redis
        // On the server's loops: a handler's backend call is driven by the loop it runs on.
        do { client = try HTTPClient(loops: group) } catch {
            group.shutdown()
            throw .client(error)
        }
        let snapshot = ConfigurationSnapshot(manifests: manifests, replayStore: replayStore, client: client)
        active = ActiveConfiguration(snapshot)
        // Comments and notes are sealed with the keys of the configuration in force, so a reload
        // that rotates them takes effect at once.
        let cipher: @Sendable () -> DataCipher? = { [active] in active.snapshot.manifests.dataEncryption }
        var sharedCases: SharedCaseStore?
        if let sharedTokens, let url = manifests.postgresURL {
            // Cases too: opened through one instance, followed and rated through any.
            let setup = PostgresConnection(url: url)
            defer { setup.close() }
            do {
                sharedCases = try SharedCaseStore(
                    pool: sharedTokens.pool, setup: setup, sealing: CaseSealing(cipher: cipher))
            } catch {
                client.shutdown()
                group.shutdown()
                throw .sharedStore("gateway.json: $.state.postgres: \(error)")
            }
        }
        do {
            if let sharedTokens, let sharedCases {
                cases = sharedCases
                vault = IdentityVault(rows: SharedIdentityRows(pool: sharedTokens.pool), cipher: cipher)
            } else {
                cases = try CaseStore(database: database, cipher: cipher)
                vault = try IdentityVault(database: database, cipher: cipher)
            }
        } catch {
            client.shutdown()
            group.shutdown()
            throw .store(error)
        }
        let millisecondClock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
        deliveries = DeliveryWorker(
            inbox: inbox, active: active, metrics: metrics, client: client, clock: millisecondClock)
        let pushes = CasePushes(inbox: inbox, worker: deliveries)
        tokens = TokenService(
            active: active, store: tokenStore, delegations: delegations, vault: vault, replayStore: replayStore,
            material: material)
        reloader = Reloader(
            directory: configuration.manifestsDirectory, active: active, replayStore: replayStore, client: client,
            audit: audit, tls: tls)
        if let redis {
            let broadcast = ReloadBroadcast(redis: redis) { [reloader] in
                switch await reloader.reload(trigger: Reloader.clusterTrigger) {
                case .success(let manifests):
                    Log.info(
                        "manifests reloaded", ["sha256": manifests.contentHash, "trigger": Reloader.clusterTrigger])
                case .failure(let problems):
                    Log.error(
                        "reload refused; the running set stays",
                        ["problems": "\(problems.problems.count)", "trigger": Reloader.clusterTrigger])
                }
            }
            reloader.announceReloads { await broadcast.announce() }
            reloadBroadcast = broadcast
        } else {
            reloadBroadcast = nil
        }
        housekeeping = Housekeeping(
            interval: configuration.housekeepingInterval,
            jobs: [
                Housekeeping.Job(name: "replay records") { [replayStore] now in try replayStore.purgeExpired(now: now)
                },
                // Shared token state is purged by its own store (SharedTokenStore), these rows
                // are then unused.
                Housekeeping.Job(name: "tokens and revocations") { [localTokens] now in
                    try localTokens.purgeExpired(now: now)
                },
                Housekeeping.Job(name: "idempotency keys") { [idempotency, callIdempotency] now in
                    let shared = try await (callIdempotency as? SharedIdempotencyStore)?.purge(now: now) ?? 0
                    return try idempotency.purge(now: now) + shared
                },
                // The chain's head is signed once a minute at most: a cut behind a seal is found.
                Housekeeping.Job(name: "audit seal") { [audit] now in
                    try await audit.seal(key: sealKey, now: now) == nil ? 0 : 1
                },
            ])
        let worker = deliveries
        var sharedChecks: [(name: String, check: @Sendable () async -> Bool)] = []
        if let redis {
            sharedChecks.append(
                (
                    "shared-state",
                    { @Sendable in
                        if case .status("PONG")? = try? await redis.command("PING") { return true }
                        return false
                    }
                ))
        }
        if let shared = inbox as? SharedInbox {
            sharedChecks.append(("shared-inbox", { @Sendable in await shared.probe() }))
        }
        health = HealthChecks(database: database, eventWorkersRunning: { worker.isRunning }, sharedChecks: sharedChecks)
        var publicHTTP = configuration.http
        publicHTTP.address = publicAddress
        publicHTTP.tls = tls
        var opsHTTP = configuration.http
        opsHTTP.address = opsAddress
        publicServer = HTTPServer(
            configuration: publicHTTP,
            responder: AccessLog(
                inner: ClientCertificateGate(
                    inner: Gateway.publicRouter(
                        health: health, active: active, tokens: tokens, audit: audit, idempotency: callIdempotency,
                        cases: cases, pushes: pushes,
                        events: EventRoutes(
                            active: active, inbox: inbox, worker: deliveries, metrics: metrics, clock: millisecondClock),
                        metrics: metrics, limiter: limiter,
                        benchmarkRoute: configuration.benchmarkRoute), active: active), active: active),
            group: group)
        opsServer = HTTPServer(
            configuration: opsHTTP,
            responder: Gateway.opsRouter(
                health: health, admin: AdminRoutes(active: active, reloader: reloader), tokens: tokens, audit: audit,
                inbox: inbox, deliveries: deliveries, metrics: metrics, clock: millisecondClock, cases: cases,
                pushes: pushes, openConnections: { [listeners] in listeners.openConnections }),
            group: group)
        listeners.set([publicServer, opsServer])
    }

    /// Binds both listeners and starts backend health probes. Returns the bound addresses.
    public func start() throws(SocketError) -> (publicAddress: SocketAddress, opsAddress: SocketAddress) {
        active.snapshot.startProbing()
        deliveries.start()
        housekeeping.start()
        reloadBroadcast?.start()
        let publicAddress = try publicServer.start()
        tokens.setBoundAddress("\(publicAddress.host):\(publicAddress.port)")
        let opsAddress: SocketAddress
        do {
            opsAddress = try opsServer.start()
        } catch {
            client.shutdown()
            group.shutdown()
            throw error
        }
        health.markListening()
        return (publicAddress, opsAddress)
    }

    /// Graceful shutdown of both listeners, then the loops.
    public func shutdown(gracePeriod: Duration) async {
        health.markStopping()
        async let publicDone: Void = publicServer.shutdown(gracePeriod: gracePeriod)
        async let opsDone: Void = opsServer.shutdown(gracePeriod: gracePeriod)
        _ = await (publicDone, opsDone)
        active.snapshot.stopProbing()
        deliveries.stop()
        housekeeping.stop()
        reloadBroadcast?.stop()
        // Whatever was audited since the last seal is covered before the process ends.
        _ = try? await audit.seal(key: sealKey, now: Int64(Date().timeIntervalSince1970))
        (audit as? SharedAuditLog)?.stop()
        inbox.stop()
        sharedTokens?.stop()
        await redis?.shutdown()
        client.shutdown()
        group.shutdown()
    }

    static func publicRouter(
        health: HealthChecks, active: ActiveConfiguration, tokens: TokenService, audit: any AuditKeeping,
        idempotency: any IdempotencyKeeping, cases: any CaseKeeping, pushes: CasePushes, events: EventRoutes,
        metrics: Metrics,
        limiter: RateLimiter = RateLimiter(), benchmarkRoute: Bool
    ) -> Router {
        var router = Router()
        health.mount(on: &router)
        let catalog = CatalogRoutes(active: active)
        let clock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
        let pipeline = CallPipeline(
            active: active, limiter: limiter, tokens: tokens, audit: audit, metrics: metrics, clock: clock,
            idempotency: idempotency, cases: cases)
        OAuthRoutes(tokens: tokens, clock: clock).mount(on: &router)
        events.mount(on: &router)
        CaseProgressRoute(active: active, store: cases, pushes: pushes, metrics: metrics, clock: clock).mount(
            on: &router)
        CaseRoutes(
            active: active, store: cases, pushes: pushes, tokens: tokens, audit: audit, metrics: metrics, clock: clock
        ).mount(on: &router)
        router.get("/v1/cities/{city}/services") { request, context in catalog.catalog(request, context) }
        router.get("/v1/cities/{city}/openapi.json") { request, context in
            catalog.openAPI(request, context, issuer: tokens.issuer)
        }
        router.get("/v1/cities/{city}/services/{service}") { request, context in catalog.guide(request, context) }
        router.post("/v1/cities/{city}/services/{service}/{operation}") { request, context in
            await pipeline.handle(request, context: context)
        }
        if benchmarkRoute {
            let body = Gateway.benchmarkBody
            router.get("/bench/fixed") { _, _ in
                Response(status: .ok, headers: ["Content-Type": "application/json"], body: body)
            }
            // The same answer to a POST: the bare server's rate on an event's bytes (bench/events.sh).
            router.post("/bench/fixed") { _, _ in
                Response(status: .ok, headers: ["Content-Type": "application/json"], body: body)
            }
        }
        return router
    }

    static func opsRouter(
        health: HealthChecks, admin: AdminRoutes, tokens: TokenService, audit: any AuditKeeping, inbox: any EventInbox,
        deliveries: DeliveryWorker, metrics: Metrics, clock: @escaping @Sendable () -> Int64, cases: any CaseKeeping,
        pushes: CasePushes, openConnections: @escaping @Sendable () -> Int
    ) -> Router {
        var router = Router()
        health.mount(on: &router)
        admin.mount(on: &router)
        DelegationRoutes(
            tokens: tokens, audit: audit, authorize: { try admin.authorize($0, $1) },
            clock: { Int64(Date().timeIntervalSince1970) }
        ).mount(on: &router)
        DeliveryRoutes(
            inbox: inbox, worker: deliveries, authorize: { try admin.authorize($0, $1) }, clock: clock, audit: audit
        ).mount(on: &router)
        CaseOpsRoutes(
            active: admin.active, store: cases, pushes: pushes, audit: audit,
            authorize: { try admin.authorize($0, $1) }, clock: { Int64(Date().timeIntervalSince1970) }
        ).mount(on: &router)
        StatusRoute(
            active: admin.active, inbox: inbox, deliveries: deliveries, metrics: metrics,
            startedAt: Date().timeIntervalSince1970
        ).mount(on: &router)
        MetricsRoute(
            metrics: metrics, active: admin.active, inbox: inbox, deliveries: deliveries, cases: cases,
            openConnections: openConnections
        ).mount(on: &router)
        return router
    }
}
