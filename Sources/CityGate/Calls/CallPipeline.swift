import Cryptography
import Foundation
import HTTPClient
import HTTPCore
import HTTPServer

/// `POST /v1/cities/{city}/services/{service}/{operation}`: one partner call, as an ordered chain
/// (DESIGN §2). Each step either passes what the next needs or answers with a problem.
///
/// ```
///  1 resolve      city, service, operation in the request's snapshot   404 / 503 with the notice
///  2 partner      X-Partner-Id, allowed for the city, signature, replay 401 / 403 / 409 / 503
///  3 identity     bearer token: signature, expiry, revocation, partner,  401 / 403 WWW-Authenticate: Bearer
///                 audience = city, scope, auth level, delegation
///  4 rate limits  city and service limits together (GCRA; a refusal charges none) 429 + RateLimit fields
///  5 input        JSON object valid against the operation's schema       400 / 422 with every violation
///  6 backend      request from the template, BackendClient (retries,     502 / 503 / 504 naming the backend
///                 breaker, bulkhead)
///  7 response     mapped into the partner's JSON                          200, or the mapped problem
///  8 audit        citizen-bound calls (and who acted for whom) in the audit trail
/// ```
public struct CallPipeline: Sendable {
    let active: ActiveConfiguration
    let limiter: RateLimiter
    let tokens: TokenService?
    let audit: AuditLog?
    let metrics: Metrics?
    let clock: @Sendable () -> Int64

    init(
        active: ActiveConfiguration, limiter: RateLimiter = RateLimiter(), tokens: TokenService? = nil,
        audit: AuditLog? = nil, metrics: Metrics? = nil,
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) {
        self.metrics = metrics
        self.active = active
        self.limiter = limiter
        self.tokens = tokens
        self.audit = audit
        self.clock = clock
    }

    /// How many input violations a 422 lists; the rest are counted (`errorsOmitted`).
    static let listedViolations = 50

    /// A problem answer ending the chain.
    struct Stop: Error {
        let response: Response
        /// The problem slug, for the audit trail.
        var slug: String? = nil
    }

    static func problem(
        _ slug: String, _ status: Int, _ detail: String, _ context: RequestContext, extra: [String: String] = [:]
    ) -> Stop {
        Stop(
            response: .problem(
                Problem(
                    slug: slug, title: Status.standardPhrase(for: status), status: status, detail: detail,
                    requestId: context.requestId, extensions: extra)), slug: slug)
    }

    /// The metric labels of one call: configured names only, "unknown" for anything else (so
    /// a caller cannot create series). Filled in as the chain resolves each name.
    struct Labels {
        var city = "unknown"
        var service = "unknown"
        var operation = "unknown"
        var partner = "unknown"
        /// The route's rendered duration labels, once city and service are resolved.
        var durationLabels: String?
    }

    func handle(_ request: Request, context: RequestContext) async -> Response {
        let snapshot = active.snapshot
        let started = ContinuousClock.now
        var labels = Labels()
        // The token checks read the same snapshot as the rest of the call.
        let response = await TokenService.$pinned.withValue(snapshot.manifests) {
            await run(request, snapshot, context, &labels)
        }
        if let metrics {
            metrics.increment(
                "citygate_requests_total",
                [
                    "city": labels.city, "service": labels.service, "operation": labels.operation,
                    "partner": labels.partner, "status": String(response.status.code),
                ])
            let elapsed = ContinuousClock.now - started
            metrics.observe(
                "citygate_request_duration_seconds",
                labelText: labels.durationLabels ?? Metrics.labels(["city": labels.city, "service": labels.service]),
                seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        return response
    }

    private func run(
        _ request: Request, _ snapshot: ConfigurationSnapshot, _ context: RequestContext, _ labels: inout Labels
    ) async -> Response {
        do {
            let (city, service, operation) = try resolve(snapshot, context, &labels)
            let route =
                snapshot.routes[city.code]?[service.id]
                ?? ServiceRoute(city: city, service: service, backends: snapshot.backends)
            labels.durationLabels = route.requestDurationLabels
            let verified = try await authenticatePartner(snapshot, request, city: city, context, &labels)
            let token = try authenticateBearer(
                request, partnerId: verified.partnerId, city: city, service: service, operation: operation, context)
            do {
                try checkDelegation(token, service: service, context)
                let limits = try applyRateLimits(
                    route, operation: operation, partnerId: verified.partnerId, subject: token?.grant.subject, context)
                let input = try validateInput(verified.payload, operation, context)
                let raw = try token.flatMap { token in
                    service.rawIdentity && token.grant.isCitizen ? try revealIdentity(token.grant, context) : nil
                }
                try checkBindings(operation, input: input, grant: token?.grant, raw: raw, labels, context)
                var values: [String: [String: String]] = [
                    "city": ["code": city.code], "partner": ["id": verified.partnerId],
                    "request": ["id": context.requestId],
                ]
                if let grant = token?.grant {
                    values["subject"] = ["id": grant.subject, "level": grant.level.rawValue]
                    if let raw { values["subject"]?["raw"] = raw }
                    if let actor = grant.actor {
                        values["agent"] = ["id": actor, "delegation": grant.delegationId ?? ""]
                    }
                }
                var response = try await callBackend(
                    route, city: city, service: service, operation: operation,
                    TemplateContext(input: input, values: values), identity: token?.grant,
                    incomingTrace: request.headers["traceparent"], incomingTraceState: request.headers["tracestate"],
                    context)
                RateLimitHeaders.add(limits, to: &response)
                record(token, city: city, service: service, operation: operation, status: response.status.code, context)
                return response
            } catch let stop as Stop {
                // Once the caller is known, refusals are part of the audit trail too.
                record(
                    token, city: city, service: service, operation: operation, status: stop.response.status.code,
                    outcome: stop.slug, context)
                throw stop
            }
        } catch let stop as Stop {
            return stop.response
        } catch {
            return Self.problem(
                "internal-error", 500, "The call could not be completed; quote the request id to support.", context
            ).response
        }
    }

    // 1
    private func resolve(_ snapshot: ConfigurationSnapshot, _ context: RequestContext, _ labels: inout Labels) throws
        -> (CityConfiguration, ServiceManifest, ServiceManifest.Operation)
    {
        let code = context.pathParameters["city"] ?? ""
        let serviceId = context.pathParameters["service"] ?? ""
        let operationName = context.pathParameters["operation"] ?? ""
        guard let city = snapshot.manifests.cities[code] else {
            throw Self.problem(
                "unknown-city", 404, "No city with code \(EchoableText.quoted(code, or: "like that")) is served here.",
                context)
        }
        labels.city = code
        guard let entry = city.services[serviceId], let service = snapshot.manifests.services[serviceId] else {
            throw Self.problem(
                "unknown-service", 404,
                "City \(code) offers no service \(EchoableText.quoted(serviceId, or: "by that name")).", context)
        }
        labels.service = serviceId
        guard let operation = service.operations[operationName], !operation.eventOnly else {
            throw Self.problem(
                "unknown-operation", 404,
                "Service \(serviceId) has no operation \(EchoableText.quoted(operationName, or: "by that name")).",
                context)
        }
        labels.operation = operationName
        if !entry.enabled || !service.enabled {
            let zh = entry.disabledNoticeZh ?? service.disabledNoticeZh ?? "该服务暂停办理。"
            let en = entry.disabledNoticeEn ?? service.disabledNoticeEn ?? "This service is paused."
            throw Self.problem("service-disabled", 503, en, context, extra: ["noticeZh": zh, "noticeEn": en])
        }
        return (city, service, operation)
    }

    struct Verified {
        let partnerId: String
        let payload: [UInt8]
    }

    // 2
    private func authenticatePartner(
        _ snapshot: ConfigurationSnapshot, _ request: Request, city: CityConfiguration, _ context: RequestContext,
        _ labels: inout Labels
    ) async throws -> Verified {
        guard let partnerId = request.headers["x-partner-id"], !partnerId.isEmpty else {
            throw Self.problem("missing-partner", 401, "X-Partner-Id must name the calling partner.", context)
        }
        guard let authenticator = snapshot.authenticators[partnerId] else {
            throw Self.problem(
                "unknown-partner", 401,
                "No partner \(EchoableText.quoted(partnerId, or: "by that X-Partner-Id")) is configured.", context)
        }
        labels.partner = partnerId
        guard city.partners.contains(partnerId), authenticator.partner.cities.contains(city.code) else {
            throw Self.problem(
                "partner-not-allowed", 403, "Partner \(partnerId) may not call city \(city.code).", context)
        }
        let outcome: PartnerAuthenticator.Outcome
        do {
            outcome = try await authenticator.authenticate(SignedRequest(request), now: clock())
        } catch .verification(let failure) {
            metrics?.increment(
                "citygate_verification_failures_total", ["partner": partnerId, "reason": failure.reason.rawValue])
            throw Stop(
                response: .problem(
                    failure.problem(requestId: context.requestId, debug: authenticator.partner.debugSignatures)))
        } catch .storage {
            var response = Self.problem(
                "store-unavailable", 503, "The gateway cannot record this request right now; retry shortly.", context
            ).response
            response.headers.add(name: "Retry-After", value: "5")
            throw Stop(response: response)
        }
        switch outcome {
        case .fresh(let verified):
            return Verified(partnerId: partnerId, payload: verified.payload)
        case .duplicate:
            let failure = VerificationFailure(
                .replayed, "This signed request was already accepted; sign each call afresh.")
            throw Stop(response: .problem(failure.problem(requestId: context.requestId)))
        }
    }

    // 4 — every limit the city and the service declare, decided together (a refusal charges none).
    // `subject` limits count per citizen, so they apply to calls that carry a citizen token.
    private func applyRateLimits(
        _ route: ServiceRoute, operation: ServiceManifest.Operation, partnerId: String, subject: String?,
        _ context: RequestContext
    ) throws -> RateLimiter.Decision {
        let rules = route.rules(
            operation: operation.name, partnerId: partnerId, remoteAddress: context.remoteAddress, subject: subject)
        let decision = limiter.check(rules, now: Int64(ProcessInfo.processInfo.systemUptime * 1e9))
        guard decision.allowed else {
            metrics?.increment("citygate_rate_limit_refusals_total", ["scope": decision.rule?.policy ?? "unknown"])
            var response = Self.problem(
                "rate-limited", 429,
                "The \(decision.rule?.policy ?? "") limit for this call is used up; retry after \(decision.retryAfterSeconds) s.",
                context
            ).response
            response.headers.add(name: "Retry-After", value: "\(decision.retryAfterSeconds)")
            RateLimitHeaders.add(decision, to: &response)
            throw Stop(response: response)
        }
        return decision
    }

    // 5 — the body is read straight from bytes (strict RFC 8259, a member named twice refused:
    // the schema must check exactly what the backend request is built from).
    private func validateInput(_ payload: [UInt8], _ operation: ServiceManifest.Operation, _ context: RequestContext)
        throws -> [String: JSONValue]
    {
        let value: JSONValue
        if payload.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            value = .object([:])
        } else {
            do { value = try JSONReader.parse(payload) } catch {
                throw Self.problem("invalid-json", 400, "The request body is not JSON (\(error)).", context)
            }
        }
        if let schema = operation.input {
            let (violations, total) = schema.validate(value, keepingAtMost: Self.listedViolations)
            if total > 0 {
                let listed = total > violations.count ? " (the first \(violations.count) are listed)" : ""
                var problem = Problem(
                    slug: "invalid-input", title: "Unprocessable Content", status: 422,
                    detail: "The input breaks \(total) rule(s) of operation \(operation.name)\(listed).",
                    requestId: context.requestId)
                let list = JSONValue.array(
                    violations.map {
                        // A path is at most 200 bytes: nested names come from the caller too.
                        let path = $0.path.utf8.count > 200 ? String($0.path.prefix(200)) + "…" : $0.path
                        return .object(["path": .string(path), "message": .string($0.message)])
                    })
                problem.jsonExtensions["errors"] = String(decoding: JSONWriter.encode(list), as: UTF8.self)
                if total > violations.count {
                    problem.jsonExtensions["errorsOmitted"] = String(total - violations.count)
                }
                throw Stop(response: .problem(problem), slug: "invalid-input")
            }
        }
        guard case .object(let object) = value else {
            throw Self.problem("invalid-json", 400, "The request body must be a JSON object.", context)
        }
        return object
    }

    // 6, 7
    private func callBackend(
        _ route: ServiceRoute, city: CityConfiguration, service: ServiceManifest,
        operation: ServiceManifest.Operation,
        _ templateContext: TemplateContext, identity: TokenGrant?, incomingTrace: String?,
        incomingTraceState: String?, _ context: RequestContext
    ) async throws -> Response {
        guard let backend = route.backend else {
            throw Self.problem(
                "backend-not-configured", 503, "City \(city.code) has no backend \(service.backend).", context)
        }
        var headers: [(String, String)] = []
        if let identity {
            // The backend sees who the call is for (a salted hash) and, for an agent, both parties.
            headers.append(("X-Citizen-Subject", identity.subject))
            headers.append(("X-Auth-Level", identity.level.rawValue))
            if let actor = identity.actor {
                headers.append(("X-Acting-Agent", actor))
                headers.append(("X-Delegation-Id", identity.delegationId ?? ""))
            }
        }
        let answer: ClientResponse
        do throws(BackendCaller.Failure) {
            answer = try await BackendCaller(metrics: metrics).send(
                BackendCaller.Call(
                    operation: operation, context: templateContext, backend: backend,
                    backendTimeoutMilliseconds: city.backends[service.backend]?.timeoutMilliseconds,
                    requestId: context.requestId, traceparent: incomingTrace, tracestate: incomingTraceState,
                    headers: headers,
                    timeoutMilliseconds: city.services[service.id]?.timeoutMilliseconds
                        ?? operation.timeoutMilliseconds,
                    idempotent: operation.idempotent, maxAttempts: operation.retries + 1,
                    durationLabels: route.backendDurationLabels))
        } catch {
            switch error {
            case .template(let detail):
                throw Self.problem("invalid-input", 422, detail, context)
            case .backend(let failure):
                throw Stop(
                    response: BackendFailure.response(
                        for: failure, backend: service.backend, requestId: context.requestId))
            }
        }
        switch ResponseMapper.map(answer, with: operation.response, backend: service.backend) {
        case .body(let json):
            return Response.text(json, contentType: "application/json; charset=utf-8")
        case .problem(let slug, let status, let detail):
            throw Self.problem(slug, status, detail, context, extra: ["backend": service.backend])
        }
    }

    // 8 — citizen-bound calls go to the audit trail; a failure to write is logged, not fatal
    // (the call already happened; refusing its answer now would not undo it).
    private func record(
        _ token: TokenService.AccessToken?, city: CityConfiguration, service: ServiceManifest,
        operation: ServiceManifest.Operation, status: Int, outcome: String? = nil, _ context: RequestContext
    ) {
        guard let audit, let grant = token?.grant, grant.isCitizen else { return }
        let entry = AuditLog.Entry(
            requestId: context.requestId, at: clock(), city: city.code, service: service.id, operation: operation.name,
            partnerId: grant.partnerId, clientId: grant.clientId, subject: grant.subject, agent: grant.actor,
            delegationId: grant.delegationId, status: status, outcome: outcome)
        do { try audit.record(entry) } catch {
            Log.error("audit record failed", ["requestId": context.requestId, "error": "\(error.code)"])
        }
    }

    /// The citizen's own id for a raw-identity service, from the vault.
    private func revealIdentity(_ grant: TokenGrant, _ context: RequestContext) throws -> String {
        guard let tokens, let raw = tokens.vault.reveal(subject: grant.subject, salt: tokens.subjectSalt, now: clock())
        else {
            throw Self.invalidToken(
                "This service needs the citizen's own id, which the gateway does not hold for this token; exchange a new token.",
                context)
        }
        return raw
    }
}
