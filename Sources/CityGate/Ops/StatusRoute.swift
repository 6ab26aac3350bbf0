import Foundation
import HTTPCore
import HTTPServer

/// `GET /status` on the ops listener: what ops need at a glance, as JSON (or, for a browser, the
/// same data as one HTML page, ``StatusPage``) — the build, uptime,
/// the manifest set in force, each city's services, each backend's health (state, breaker, last
/// success and failure with its reason, recent latency, calls in flight) and the event inbox
/// (depth, oldest pending age, dead letters, deliveries in flight), and rate-limit refusals by
/// scope since start. No secrets, no personal data.
struct StatusRoute: Sendable {
    /// The version reported by `/status`.
    static let version = "0.3.0"

    let active: ActiveConfiguration
    let inbox: any EventInbox
    let deliveries: DeliveryWorker
    let metrics: Metrics
    let startedAt: Double

    func mount(on router: inout Router) {
        router.get("/status") { request, _ in
            let document = await status(now: Date().timeIntervalSince1970)
            // Browsers ask for HTML first; tools get JSON.
            let accept = request.headers["accept"] ?? ""
            guard accept.contains("text/html") else { return .jsonObject(document) }
            return Response(
                status: .ok, headers: ["Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"],
                body: Array(StatusPage.render(document).utf8))
        }
    }

    func status(now: Double) async -> [String: Any] {
        let snapshot = active.snapshot
        let manifests = snapshot.manifests
        var cities: [[String: Any]] = []
        for code in manifests.cities.keys.sorted() {
            guard let city = manifests.cities[code] else { continue }
            let services: [[String: Any]] = city.services.keys.sorted().compactMap { id in
                guard let entry = city.services[id], let service = manifests.services[id] else { return nil }
                return [
                    "id": id, "enabled": entry.enabled && service.enabled, "backend": service.backend,
                    "nameZh": service.nameZh, "nameEn": service.nameEn,
                ]
            }
            cities.append(["code": code, "name": city.nameEn, "nameZh": city.nameZh, "services": services])
        }
        let backends: [[String: Any]] = snapshot.backends.keys.sorted().compactMap { key in
            guard let health = snapshot.backends[key]?.health else { return nil }
            var entry: [String: Any] = [
                "name": key, "state": health.state.rawValue, "breaker": "\(health.breaker)",
                "consecutiveFailures": health.consecutiveFailures, "inFlight": health.inFlight,
            ]
            if let at = health.lastSuccessAt { entry["lastSuccessAt"] = at }
            if let at = health.lastFailureAt { entry["lastFailureAt"] = at }
            if let reason = health.lastFailureReason { entry["lastFailureReason"] = reason }
            if let latency = health.recentLatencyMilliseconds { entry["recentLatencyMs"] = latency }
            return entry
        }
        var events: [String: Any] = ["workersRunning": deliveries.isRunning, "inFlight": deliveries.inFlightCount]
        if let statistics = try? await inbox.statistics() {
            events["pending"] = statistics.counts[.pending] ?? 0
            events["dead"] = statistics.counts[.dead] ?? 0
            events["delivered"] = statistics.counts[.delivered] ?? 0
            events["unbound"] = statistics.counts[.unbound] ?? 0
            if let oldest = statistics.oldestPendingReceivedAt {
                events["oldestPendingAgeSeconds"] = max(0, now - Double(oldest) / 1000)
            }
        } else {
            events["error"] = "the inbox cannot be read"
        }
        var tls: [String: Any] = ["enabled": manifests.tls != nil]
        if let settings = manifests.tls {
            tls["certificateSubject"] = settings.summary.subject
            tls["certificateNotAfter"] = settings.summary.notAfter
            tls["certificateDaysLeft"] = Int((Double(settings.summary.notAfter) - now) / 86_400)
            tls["requestsClientCertificates"] = settings.material.requestClientCertificates
        }
        return [
            "service": "citygate", "version": Self.version, "uptimeSeconds": max(0, now - startedAt), "tls": tls,
            "manifests": ["sha256": manifests.contentHash, "loadedAt": manifests.loadedAt],
            "cities": cities, "backends": backends, "events": events,
            "rateLimitRefusals": metrics.totals("citygate_rate_limit_refusals_total", by: "scope"),
        ]
    }
}
