import HTTPCore
import Logging

/// `citygate_requests_total` and `citygate_request_duration_seconds` for every call, labelled
/// with configured names only.
struct RequestMetricsObserver: CallObserver {
    let metrics: Metrics

    func finished(_ call: CallContext, response: Response, refusal: String?) {
        let labels = call.labels
        metrics.increment(
            "citygate_requests_total",
            [
                "city": labels.city, "service": labels.service, "operation": labels.operation,
                "partner": labels.partner, "status": String(response.status.code),
            ])
        let elapsed = ContinuousClock.now - call.started
        metrics.observe(
            "citygate_request_duration_seconds",
            labelText: labels.durationLabels ?? Metrics.labels(["city": labels.city, "service": labels.service]),
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}

/// Citizen-bound calls, and their refusals once the caller is known, in the audit trail (who
/// acted for whom, the status, the refusal's slug). A failure to write is logged, not fatal: the
/// call already happened; refusing its answer now would not undo it.
struct AuditObserver: CallObserver {
    let audit: any AuditKeeping
    let clock: @Sendable () -> Int64

    func finished(_ call: CallContext, response: Response, refusal: String?) async {
        // The case routes have a city and labels but no service target: they are audited under
        // their labels (`cases`, `case.view` / `case.rate`).
        guard let grant = call.token?.grant, grant.isCitizen, let city = call.city else { return }
        let entry = AuditLog.Entry(
            requestId: call.http.requestId, at: clock(), city: city.code,
            service: call.target?.service.id ?? call.labels.service,
            operation: call.target?.operation.name ?? call.labels.operation, partnerId: grant.partnerId,
            clientId: grant.clientId,
            subject: grant.subject, agent: grant.actor, delegationId: grant.delegationId,
            status: response.status.code, outcome: refusal)
        do { try await audit.record(entry) } catch {
            Log.error("audit record failed", ["requestId": call.http.requestId, "error": StoreErrorCode.of(error)])
        }
    }
}
