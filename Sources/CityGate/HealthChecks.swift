import HTTPCore
import HTTPServer
import Store
import Synchronization

/// Liveness and readiness.
///
/// `/healthz` answers 200 while the process can serve at all. `/readyz` answers 200 only when
/// every readiness check passes, else 503 with the failing checks named; later parts of the
/// gateway (manifests, store, event workers) add their checks here.
final class HealthChecks: Sendable {
    private let listening = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let database: Database
    private let eventWorkersRunning: @Sendable () -> Bool
    /// Checks of the shared stores, when instances share them: `shared-state` (Redis answers),
    /// `shared-inbox` (PostgreSQL answers).
    private let sharedChecks: [(name: String, check: @Sendable () async -> Bool)]

    init(
        database: Database, eventWorkersRunning: @escaping @Sendable () -> Bool = { true },
        sharedChecks: [(name: String, check: @Sendable () async -> Bool)] = []
    ) {
        self.database = database
        self.eventWorkersRunning = eventWorkersRunning
        self.sharedChecks = sharedChecks
    }

    /// Whether the store takes writes: a write lock taken and released, nothing written.
    var storeWritable: Bool {
        do {
            try database.withConnection { session throws(SQLiteError) -> Void in
                try session.run("BEGIN IMMEDIATE")
                try session.run("ROLLBACK")
            }
            return true
        } catch {
            return false
        }
    }

    func markListening() { listening.store(true, ordering: .releasing) }
    func markStopping() { stopping.store(true, ordering: .releasing) }

    /// Each readiness check by name, and whether it passes.
    var readiness: [(name: String, passing: Bool)] {
        [
            ("listeners", listening.load(ordering: .acquiring)),
            ("manifests", true),
            ("store", storeWritable),
            ("event-workers", eventWorkersRunning()),
            ("not-draining", !stopping.load(ordering: .acquiring)),
        ]
    }

    func mount(on router: inout Router) {
        router.get("/healthz") { _, _ in
            .json("{\"status\":\"ok\"}")
        }
        router.get("/readyz") { [self] _, context in
            var checks = readiness
            // An instance that cannot reach the shared state refuses signed calls (fail closed),
            // one that cannot reach the shared inbox refuses events: the load balancer should
            // send them elsewhere.
            for shared in sharedChecks { checks.append((shared.name, await shared.check())) }
            let failing = checks.filter { !$0.passing }.map(\.name)
            let members = checks.map { "\(JSONText.quoted($0.name)):\($0.passing ? "\"pass\"" : "\"fail\"")" }
            if failing.isEmpty {
                return .json("{\"status\":\"ready\",\"checks\":{\(members.joined(separator: ","))}}")
            }
            var response = Response.problem(
                Problem(
                    .notReady, detail: "Failing readiness checks: \(failing.joined(separator: ", ")).",
                    requestId: context.requestId))
            response.headers.add(name: "Retry-After", value: "1")
            return response
        }
    }
}
