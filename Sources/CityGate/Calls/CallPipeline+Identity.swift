import Foundation
import HTTPCore
import HTTPServer

extension CallPipeline {
    /// Step 3: the bearer token (RFC 6750). Public and partner-level services need none (the
    /// partner's signature already proves the caller), but a token that is sent is checked all
    /// the same. Citizen services need a citizen-bound token of the calling partner, for this
    /// city, with the operation's scope and at least the service's auth level; an agent's token
    /// is checked against its delegation in ``checkDelegation(_:service:_:)``.
    func authenticateBearer(
        _ request: Request, partnerId: String, city: CityConfiguration, service: ServiceManifest,
        operation: ServiceManifest.Operation, _ context: RequestContext
    ) throws -> TokenService.AccessToken? {
        guard let header = request.headers["authorization"] else {
            guard service.authLevel > .partner else { return nil }
            throw Self.bearerProblem(
                "token-required", 401,
                "Service \(service.id) acts for a citizen and requires a citizen-bound bearer token (auth level \(service.authLevel.rawValue)).",
                challenge: "Bearer realm=\"citygate\"", context)
        }
        guard header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw Self.bearerProblem(
                "invalid-token", 401, "Authorization must be a Bearer token.",
                challenge: "Bearer realm=\"citygate\", error=\"invalid_request\"", context)
        }
        guard let tokens else {
            throw Self.problem("tokens-unavailable", 503, "Tokens cannot be checked on this gateway.", context)
        }
        let now = clock()
        let token: TokenService.AccessToken
        do { token = try tokens.verifyAccessToken(String(header.dropFirst(7)), now: now) } catch {
            throw Self.invalidToken(error.description, context)
        }
        let grant = token.grant
        guard grant.partnerId == partnerId else {
            throw Self.invalidToken("The token was issued to another partner.", context)
        }
        guard grant.audience == city.code else {
            throw Self.invalidToken("The token is for city \(grant.audience), not \(city.code).", context)
        }
        guard grant.scopes.contains(operation.scope) else {
            throw Self.bearerProblem(
                "insufficient-scope", 403, "Operation \(operation.name) needs scope \(operation.scope).",
                challenge: "Bearer realm=\"citygate\", error=\"insufficient_scope\", scope=\"\(operation.scope)\"",
                context)
        }
        if service.authLevel > .partner && grant.level < service.authLevel {
            // RFC 9470: the client must get a token of a higher assurance level.
            throw Self.bearerProblem(
                "insufficient-auth-level", 401,
                "Service \(service.id) needs auth level \(service.authLevel.rawValue); the token has \(grant.level.rawValue).",
                challenge:
                    "Bearer realm=\"citygate\", error=\"insufficient_user_authentication\", acr_values=\"\(service.authLevel.rawValue)\"",
                context)
        }
        return token
    }

    /// Step 3b: an agent's token acts only while its delegation is valid and covers the service.
    /// Checked on every call, so revoking a delegation stops tokens already issued.
    func checkDelegation(_ token: TokenService.AccessToken?, service: ServiceManifest, _ context: RequestContext) throws
    {
        guard let grant = token?.grant, let delegationId = grant.delegationId, let tokens else { return }
        let now = clock()
        let delegation: Delegation?
        do { delegation = try tokens.delegations.find(id: delegationId) } catch {
            throw Self.problem("store-unavailable", 503, "Delegations cannot be read right now; retry.", context)
        }
        guard let delegation, delegation.isValid(at: now), delegation.agent == grant.actor,
            delegation.citizen == grant.subject
        else {
            throw Self.problem(
                "delegation-invalid", 403, "The delegation this agent acts under has expired or was revoked.", context)
        }
        guard delegation.services.contains(service.id) else {
            throw Self.problem(
                "delegation-out-of-scope", 403, "The delegation does not cover service \(service.id).", context)
        }
    }

    /// Step 5b: every bound input field names the token's own citizen (see ``SubjectBinding``).
    /// For an agent that is the citizen its delegation names. A field left out claims nobody and
    /// passes; a mismatch is 403 `subject-mismatch` naming the field, never either value, and
    /// the backend is not called.
    func checkBindings(
        _ operation: ServiceManifest.Operation, input: [String: JSONValue], grant: TokenGrant?, raw: String?,
        _ labels: Labels, _ context: RequestContext
    ) throws {
        guard !operation.bindings.isEmpty else { return }
        for binding in operation.bindings {
            guard let claimed = binding.value(in: input) else { continue }
            let identity: String? =
                switch binding.source {
                case .raw: raw
                case .pseudonym: grant.flatMap { $0.isCitizen ? $0.subject : nil }
                }
            if let identity, binding.matches(claimed: claimed, identity: identity) { continue }
            metrics?.increment(
                "citygate_subject_mismatches_total",
                [
                    "city": labels.city, "service": labels.service, "operation": labels.operation,
                    "partner": labels.partner, "field": binding.field,
                ])
            throw Self.problem(
                "subject-mismatch", 403,
                "Input field \(binding.field) must identify the citizen this token stands for (bound to \(binding.source.rawValue)); an agent acts only for the citizen its delegation names.",
                context, extra: ["field": binding.field])
        }
    }

    static func invalidToken(_ detail: String, _ context: RequestContext) -> Stop {
        // RFC 6750 §3: error_description is printable ASCII without quote or backslash.
        let escaped = EchoableText.challengeDescription(detail)
        return bearerProblem(
            "invalid-token", 401, detail,
            challenge: "Bearer realm=\"citygate\", error=\"invalid_token\", error_description=\"\(escaped)\"", context)
    }

    static func bearerProblem(
        _ slug: String, _ status: Int, _ detail: String, challenge: String, _ context: RequestContext
    ) -> Stop {
        var response = problem(slug, status, detail, context).response
        response.headers.add(name: "WWW-Authenticate", value: challenge)
        return Stop(response: response)
    }
}
