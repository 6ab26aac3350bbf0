import Foundation
import HTTPCore
import HTTPServer

#if canImport(Glibc)
    import Glibc
#endif

/// `GET /metrics` on the ops listener: the registry's counters and histograms, plus gauges read
/// at scrape time — breaker state and health per backend, the inbox by state, the oldest pending
/// event's age, deliveries in flight, open connections, process memory and open file descriptors.
struct MetricsRoute: Sendable {
    let metrics: Metrics
    let active: ActiveConfiguration
    let inbox: any EventInbox
    let deliveries: DeliveryWorker
    /// Cases open and overdue per department.
    var cases: (any CaseKeeping)? = nil
    /// Open connections on the public and ops listeners.
    let openConnections: @Sendable () -> Int

    func mount(on router: inout Router) {
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                body: Array(await render(now: Date().timeIntervalSince1970).utf8))
        }
    }

    func render(now: Double) async -> String {
        let snapshot = active.snapshot
        var breaker: [(labels: String, value: Double)] = []
        var healthy: [(labels: String, value: Double)] = []
        for name in snapshot.backends.keys.sorted() {
            guard let health = snapshot.backends[name]?.health else { continue }
            let labels = Metrics.labels(["backend": name])
            let state: Double =
                switch health.breaker {
                case .closed: 0
                case .halfOpen: 1
                case .open: 2
                }
            breaker.append((labels, state))
            healthy.append((labels, health.state.rawValue == "healthy" ? 1 : 0))
        }
        var inboxSamples: [(labels: String, value: Double)] = []
        var oldest: [(labels: String, value: Double)] = []
        if let statistics = try? await inbox.statistics() {
            for state in InboxEvent.State.allCases {
                inboxSamples.append((Metrics.labels(["state": state.rawValue]), Double(statistics.counts[state] ?? 0)))
            }
            oldest.append(("", statistics.oldestPendingReceivedAt.map { max(0, now - Double($0) / 1000) } ?? 0))
        }
        var open: [(labels: String, value: Double)] = []
        var overdue: [(labels: String, value: Double)] = []
        if let counts = try? await cases?.openCounts(today: SupervisionReport.date(Int64(now))) {
            for count in counts {
                let labels = Metrics.labels(["city": count.city, "department": count.department])
                open.append((labels, Double(count.open)))
                overdue.append((labels, Double(count.overdue)))
            }
        }
        let certificate = active.snapshot.manifests.tls.map { [("", Double($0.summary.notAfter))] } ?? []
        return metrics.render(gauges: [
            (
                "citygate_tls_certificate_not_after_seconds",
                "End of validity of the public listener's certificate (Unix seconds); absent in cleartext.",
                certificate
            ),
            ("citygate_cases_open", "Cases not yet finished or refused, per city and department.", open),
            (
                "citygate_cases_overdue", "Open cases past their legal time limit, per city and department.",
                overdue
            ),
            ("citygate_backend_breaker_state", "Circuit breaker per backend: 0 closed, 1 half-open, 2 open.", breaker),
            ("citygate_backend_healthy", "1 when the backend's passive and active health is healthy.", healthy),
            ("citygate_inbox_events", "Events in the durable inbox by state.", inboxSamples),
            ("citygate_inbox_oldest_pending_age_seconds", "Age of the oldest event waiting for delivery.", oldest),
            ("citygate_deliveries_in_flight", "Event deliveries in flight.", [("", Double(deliveries.inFlightCount))]),
            ("process_resident_memory_bytes", "Resident memory of the gateway process.", [("", Self.residentBytes())]),
            (
                "process_open_fds", "Open file descriptors (sockets, the store, the inbox).",
                [("", Self.openDescriptors())]
            ),
            (
                "citygate_open_connections", "Open client connections on both listeners.",
                [("", Double(openConnections()))]
            ),
        ])
    }

    /// Resident set size from `/proc/self/statm` (pages × page size).
    static func residentBytes() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Entries in `/proc/self/fd`.
    static func openDescriptors() -> Double {
        Double((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0)
    }
}
