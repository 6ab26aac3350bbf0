import HTTPClient
import HTTPCore
import HTTPServer

/// Stages 6 and 7: the operation's backend request, built from its templates and sent through
/// the one backend-call path (``BackendCaller``: retries, breaker, bulkhead, trace, timeout
/// ceiling), and the backend's answer mapped into the partner's JSON (or the mapped problem).
struct BackendStage: CallStage {
    let name = "backend"
    let caller: BackendCaller

    func run(_ call: inout CallContext) async throws(ProblemError) {
        // Read through the target, never bound to locals: each binding of a manifest value
        // would copy it (a retain per reference inside).
        let target = try call.resolved(for: name)
        let context = call.http
        guard let backend = target.route.backend else {
            throw ProblemError(
                .backendNotConfigured, "City \(target.city.code) has no backend \(target.service.backend).")
        }
        var values: [String: [String: String]] = [
            "city": ["code": target.city.code], "partner": ["id": try call.partner(for: name)],
            "request": ["id": context.requestId],
        ]
        var headers: [(String, String)] = []
        if let grant = call.token?.grant {
            values["subject"] = ["id": grant.subject, "level": grant.level.rawValue]
            if let raw = call.rawIdentity { values["subject"]?["raw"] = raw }
            // The backend sees who the call is for (a salted hash) and, for an agent, both parties.
            headers.append(("X-Citizen-Subject", grant.subject))
            headers.append(("X-Auth-Level", grant.level.rawValue))
            if let actor = grant.actor {
                values["agent"] = ["id": actor, "delegation": grant.delegationId ?? ""]
                headers.append(("X-Acting-Agent", actor))
                headers.append(("X-Delegation-Id", grant.delegationId ?? ""))
            }
        }
        if let claimed = call.idempotencyKey {
            // Scoped by partner, so two partners' keys never meet at the backend.
            headers.append(("Idempotency-Key", "\(try call.partner(for: name)):\(claimed.key)"))
        }
        let started = ContinuousClock.now
        let answer: ClientResponse
        do throws(BackendCaller.Failure) {
            answer = try await caller.send(
                BackendCaller.Call(
                    template: target.operation.request, context: TemplateContext(input: call.input, values: values),
                    backend: backend,
                    backendTimeoutMilliseconds: target.city.backends[target.service.backend]?.timeoutMilliseconds,
                    requestId: context.requestId, traceparent: call.request.headers["traceparent"],
                    tracestate: call.request.headers["tracestate"], headers: headers,
                    timeoutMilliseconds: target.city.services[target.service.id]?.timeoutMilliseconds
                        ?? target.operation.timeoutMilliseconds,
                    idempotent: target.operation.idempotent, maxAttempts: target.operation.retries + 1,
                    durationLabels: target.route.backendDurationLabels,
                    credentials: (call.snapshot.credentials, target.city.code)))
        } catch {
            call.backendElapsed = ContinuousClock.now - started
            switch error {
            case .template(let detail):
                throw ProblemError(.invalidInput, detail)
            case .backend(let failure):
                throw BackendFailure.error(for: failure, backend: target.service.backend)
            case .credentials(let detail):
                throw ProblemError(
                    .backendCredentialsUnavailable,
                    "The gateway could not obtain its credentials for backend \(target.service.backend): \(detail).",
                    extensions: ["backend": target.service.backend])
            }
        }
        call.backendElapsed = ContinuousClock.now - started
        call.backendAnswered = true
        switch ResponseMapper.map(answer, with: target.operation.response, backend: target.service.backend) {
        case .body(let json):
            call.response = Response.text(json, contentType: "application/json; charset=utf-8")
        case .document(let contentType, let bytes, let filename):
            // Never rendered by a browser in the gateway's origin: an attachment, not sniffed.
            call.response = Response(
                status: .ok,
                headers: [
                    "Content-Type": contentType, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
                    "Content-Disposition": filename.map { "attachment; filename=\"\($0)\"" } ?? "attachment",
                ], body: bytes)
        case .problem(let type, let detail):
            throw ProblemError(type, detail, extensions: ["backend": target.service.backend])
        }
    }
}
