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

    func run(_ call: inout CallContext) async throws(ProblemError) {
        let target = try call.resolved(for: name)
        call.token = try Self.check(
            call.request, partnerId: try call.partner(for: name), city: target.city,
            requirement: Requirement(
                scope: target.operation.scope, what: "Operation \(target.operation.name)",
                level: target.service.authLevel, owner: "Service \(target.service.id)"),
            tokens: tokens, now: clock())
    }

    /// What a route asks of a token: a scope, and an auth level (above `partner`: a token is
    /// required).
    struct Requirement {
        var scope: String
        /// Who needs the scope, for the problem's detail ("Operation apply").
        var what: String
        var level: ServiceManifest.AuthLevel
        /// Who needs the level ("Service permit.application").
        var owner: String
    }

    /// Checks the `Authorization` header of `request` against `requirement`; nil when no token
    /// was sent and none is needed.
    static func check(
        _ request: Request, partnerId: String, city: CityConfiguration, requirement: Requirement,
        tokens: TokenService?, now: Int64
    ) throws(ProblemError) -> TokenService.AccessToken? {
        guard let header = request.headers["authorization"] else {
            guard requirement.level > .partner else { return nil }
            throw CallPipeline.bearerProblem(
                .tokenRequired,
                "\(requirement.owner) acts for a citizen and requires a citizen-bound bearer token (auth level \(requirement.level.rawValue)).",
                challenge: "Bearer realm=\"citygate\"")
        }
        guard header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw CallPipeline.bearerProblem(
                .invalidToken, "Authorization must be a Bearer token.",
                challenge: "Bearer realm=\"citygate\", error=\"invalid_request\"")
        }
        guard let tokens else {
            throw ProblemError(.tokensUnavailable, "Tokens cannot be checked on this gateway.")
        }
        let token: TokenService.AccessToken
        do { token = try tokens.verifyAccessToken(String(header.dropFirst(7)), now: now) } catch {
            throw CallPipeline.invalidToken(error.description)
        }
        let grant = token.grant
        guard grant.partnerId == partnerId else {
            throw CallPipeline.invalidToken("The token was issued to another partner.")
        }
        guard grant.audience == city.code else {
            throw CallPipeline.invalidToken("The token is for city \(grant.audience), not \(city.code).")
        }
        guard grant.scopes.contains(requirement.scope) else {
            throw CallPipeline.bearerProblem(
                .insufficientScope, "\(requirement.what) needs scope \(requirement.scope).",
                challenge: "Bearer realm=\"citygate\", error=\"insufficient_scope\", scope=\"\(requirement.scope)\"")
        }
        if requirement.level > .partner && grant.level < requirement.level {
            // RFC 9470: the client must get a token of a higher assurance level.
            throw CallPipeline.bearerProblem(
                .insufficientAuthLevel,
                "\(requirement.owner) needs auth level \(requirement.level.rawValue); the token has \(grant.level.rawValue).",
                challenge:
                    "Bearer realm=\"citygate\", error=\"insufficient_user_authentication\", acr_values=\"\(requirement.level.rawValue)\""
            )
        }
        return token
    }
}
