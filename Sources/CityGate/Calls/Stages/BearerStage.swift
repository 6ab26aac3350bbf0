import HTTPCore
import HTTPServer

/// Stage 3: the bearer token (RFC 6750). Public and partner-level services need none (the
/// partner's signature already proves the caller), but a token that is sent is checked all the
/// same. Citizen services need a citizen-bound token of the calling partner, for this city, with
/// the operation's scope and at least the service's auth level (401 / 403 with
/// `WWW-Authenticate: Bearer`, RFC 9470's `insufficient_user_authentication` for the level).
struct BearerStage: CallStage {
    let name = "bearer"
    let tokens: TokenService?
    let clock: @Sendable () -> Int64

    func run(_ call: inout CallContext) async throws(CallPipeline.Stop) {
        let target = try call.resolved(for: name)
        call.token = try check(
            call.request, partnerId: try call.partner(for: name), city: target.city, service: target.service,
            operation: target.operation, call.http)
    }

    private func check(
        _ request: Request, partnerId: String, city: CityConfiguration, service: ServiceManifest,
        operation: ServiceManifest.Operation, _ context: RequestContext
    ) throws(CallPipeline.Stop) -> TokenService.AccessToken? {
        guard let header = request.headers["authorization"] else {
            guard service.authLevel > .partner else { return nil }
            throw CallPipeline.bearerProblem(
                "token-required", 401,
                "Service \(service.id) acts for a citizen and requires a citizen-bound bearer token (auth level \(service.authLevel.rawValue)).",
                challenge: "Bearer realm=\"citygate\"", context)
        }
        guard header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw CallPipeline.bearerProblem(
                "invalid-token", 401, "Authorization must be a Bearer token.",
                challenge: "Bearer realm=\"citygate\", error=\"invalid_request\"", context)
        }
        guard let tokens else {
            throw CallPipeline.problem("tokens-unavailable", 503, "Tokens cannot be checked on this gateway.", context)
        }
        let now = clock()
        let token: TokenService.AccessToken
        do { token = try tokens.verifyAccessToken(String(header.dropFirst(7)), now: now) } catch {
            throw CallPipeline.invalidToken(error.description, context)
        }
        let grant = token.grant
        guard grant.partnerId == partnerId else {
            throw CallPipeline.invalidToken("The token was issued to another partner.", context)
        }
        guard grant.audience == city.code else {
            throw CallPipeline.invalidToken("The token is for city \(grant.audience), not \(city.code).", context)
        }
        guard grant.scopes.contains(operation.scope) else {
            throw CallPipeline.bearerProblem(
                "insufficient-scope", 403, "Operation \(operation.name) needs scope \(operation.scope).",
                challenge: "Bearer realm=\"citygate\", error=\"insufficient_scope\", scope=\"\(operation.scope)\"",
                context)
        }
        if service.authLevel > .partner && grant.level < service.authLevel {
            // RFC 9470: the client must get a token of a higher assurance level.
            throw CallPipeline.bearerProblem(
                "insufficient-auth-level", 401,
                "Service \(service.id) needs auth level \(service.authLevel.rawValue); the token has \(grant.level.rawValue).",
                challenge:
                    "Bearer realm=\"citygate\", error=\"insufficient_user_authentication\", acr_values=\"\(service.authLevel.rawValue)\"",
                context)
        }
        return token
    }
}
