import Foundation
import HTTPCore
import HTTPServer

/// The public OAuth endpoints (DESIGN §3): `/oauth/token`, `/oauth/revoke`, `/oauth/introspect`,
/// `/.well-known/oauth-authorization-server` (RFC 8414) and `/.well-known/jwks.json`.
struct OAuthRoutes: Sendable {
    let tokens: TokenService
    let clock: @Sendable () -> Int64

    func mount(on router: inout Router) {
        router.post("/oauth/token") { request, context in
            await respond(context) { () async throws(OAuthError) -> Response in
                let form = try Self.form(request)
                let client = try tokens.authenticateClient(authorization: request.headers["authorization"], form: form)
                return Self.json(try await tokens.token(form: form, client: client, now: clock()))
            }
        }
        router.post("/oauth/revoke") { request, context in
            await respond(context) { () async throws(OAuthError) -> Response in
                let (client, token) = try clientAndToken(request)
                try await tokens.revoke(token: token, client: client, now: clock())
                return Self.json([:])
            }
        }
        router.post("/oauth/introspect") { request, context in
            await respond(context) { () async throws(OAuthError) -> Response in
                let (client, token) = try clientAndToken(request)
                return Self.json(tokens.introspect(token: token, client: client, now: clock()))
            }
        }
        router.get("/.well-known/oauth-authorization-server") { _, _ in
            tokens.pinning { metadata(issuer: tokens.issuer) }
        }
        router.get("/.well-known/jwks.json") { _, _ in
            var response = Self.json(tokens.pinning { tokens.jwks() }, cache: "public, max-age=300")
            response.headers.replaceOrAdd(name: "Content-Type", value: "application/jwk-set+json")
            return response
        }
    }

    /// RFC 8414 metadata for `issuer`.
    private func metadata(issuer: String) -> Response {
        Self.json([
            "issuer": issuer, "token_endpoint": issuer + "/oauth/token",
            "revocation_endpoint": issuer + "/oauth/revoke", "introspection_endpoint": issuer + "/oauth/introspect",
            "jwks_uri": issuer + "/.well-known/jwks.json",
            "grant_types_supported": ["client_credentials", "refresh_token", TokenService.tokenExchangeGrant],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": [String](),
            "scopes_supported": Array(
                Set(
                    tokens.manifests.services.values.flatMap {
                        $0.operations.values.map(\.scope)
                    })
            ).sorted(),
            "token_endpoint_auth_signing_alg_values_supported": JSONWebToken.Algorithm.allCases.map(\.rawValue),
        ])
    }

    /// RFC 7009 and RFC 7662 requests: an authenticated client and a `token` parameter.
    private func clientAndToken(_ request: Request) throws(OAuthError) -> (OAuthClient, String) {
        let form = try Self.form(request)
        let client = try tokens.authenticateClient(authorization: request.headers["authorization"], form: form)
        guard let token = form["token"], !token.isEmpty else {
            throw OAuthError("invalid_request", "token is required")
        }
        return (client, token)
    }

    /// Runs one token-endpoint request on one manifest snapshot (see ``TokenService/pinned``).
    private func respond(_ context: RequestContext, _ body: () async throws(OAuthError) -> Response) async -> Response {
        await tokens.pinning { () async -> Response in
            do throws(OAuthError) { return try await body() } catch {
                return error.response(requestId: context.requestId)
            }
        }
    }

    static func json(_ object: [String: Any], cache: String = "no-store") -> Response {
        var response = Response.jsonObject(object)
        response.headers.add(name: "Cache-Control", value: cache)
        if cache == "no-store" { response.headers.add(name: "Pragma", value: "no-cache") }
        return response
    }

    /// The form body (RFC 6749 §3.2: `application/x-www-form-urlencoded`; a parameter sent twice
    /// is an error, so a smuggled second `scope` or `client_id` cannot win).
    static func form(_ request: Request) throws(OAuthError) -> [String: String] {
        let contentType = (request.headers["content-type"] ?? "").lowercased()
        guard
            contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces)
                == "application/x-www-form-urlencoded"
        else { throw OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded") }
        guard let text = String(bytes: request.body, encoding: .utf8), let pairs = FormEncoding.decodePairs(text) else {
            throw OAuthError("invalid_request", "the form body is malformed")
        }
        var form: [String: String] = [:]
        for (name, value) in pairs {
            guard form[name] == nil else {
                throw OAuthError("invalid_request", "parameter \(EchoableText.quoted(name, or: "(one)")) is repeated")
            }
            form[name] = value
        }
        return form
    }
}
