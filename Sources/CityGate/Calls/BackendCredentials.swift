import Cryptography
import Foundation
import HTTPClient
import HTTPCore
import Synchronization

/// Renders `{secret.<name>}` for a city's backend requests (``BackendCredential``), fetching and
/// caching OAuth 2 client-credentials tokens through libcurl.
///
/// Tokens are cached per city and credential until 30 seconds before `expires_in` (60 s when the
/// endpoint gives none), and dropped on a backend's 401 so the next value is fetched anew. Values
/// live only here and in the outbound request: never in a problem, a log line or `/status`.
final class BackendCredentials: Sendable {
    /// Why a value could not be had (no secret in it).
    struct Unavailable: Error, Sendable {
        let detail: String
    }

    private struct CachedToken {
        let value: String
        let expiresAt: ContinuousClock.Instant
    }

    private let credentials: [String: [String: BackendCredential]]
    private let client: HTTPClient?
    private let tokens = Mutex<[String: CachedToken]>([:])
    /// Fetches under way, by city/credential: calls that need a token at the same moment share
    /// one request to the token endpoint instead of each making its own.
    private let fetches = Mutex<[String: Task<Result<(String, Int), Unavailable>, Never>]>([:])

    /// The credentials of every city (code → name → credential).
    init(cities: [String: CityConfiguration], client: HTTPClient?) {
        credentials = cities.mapValues(\.credentials)
        self.client = client
    }

    /// The rendered values of `names` for `city`.
    func values(city: String, names: Set<String>) async throws(Unavailable) -> [String: String] {
        var values: [String: String] = [:]
        for name in names {
            guard let credential = credentials[city]?[name] else {
                throw Unavailable(detail: "city \(city) declares no credential \(name)")
            }
            values[name] = try await render(credential, key: "\(city)/\(name)")
        }
        return values
    }

    /// Whether any of `names` is a token (a 401 may mean it was revoked early).
    func hasToken(city: String, names: Set<String>) -> Bool {
        names.contains { credentials[city]?[$0]?.isToken == true }
    }

    /// Forgets the cached tokens of `names` for `city`.
    func invalidate(city: String, names: Set<String>) {
        tokens.withLock { cache in
            for name in names { cache["\(city)/\(name)"] = nil }
        }
    }

    private func render(_ credential: BackendCredential, key: String) async throws(Unavailable) -> String {
        switch credential {
        case .value(let value):
            return value
        case .basic(let username, let password):
            return "Basic " + Encoding.base64(Array("\(username):\(password)".utf8))
        case .oauth2(let tokenURL, let clientId, let clientSecret, let scope):
            let now = ContinuousClock.now
            if let cached = tokens.withLock({ $0[key] }), cached.expiresAt > now { return "Bearer " + cached.value }
            let task = fetches.withLock { running in
                if let shared = running[key] { return shared }
                let task = Task { () -> Result<(String, Int), Unavailable> in
                    do throws(Unavailable) {
                        return .success(
                            try await self.fetch(
                                tokenURL: tokenURL, clientId: clientId, clientSecret: clientSecret, scope: scope))
                    } catch { return .failure(error) }
                }
                running[key] = task
                return task
            }
            let result = await task.value
            fetches.withLock { running in if running[key] == task { running[key] = nil } }
            let (token, lifetime) = try result.get()
            let margin = min(30, lifetime / 2)
            tokens.withLock {
                $0[key] = CachedToken(value: token, expiresAt: now + .seconds(max(1, lifetime - margin)))
            }
            return "Bearer " + token
        }
    }

    /// RFC 6749 §4.4 with the client authenticated by HTTP Basic (§2.3.1).
    private func fetch(tokenURL: String, clientId: String, clientSecret: String, scope: String?)
        async throws(Unavailable) -> (String, Int)
    {
        guard let client else { throw Unavailable(detail: "no outbound client") }
        var form = [("grant_type", "client_credentials")]
        if let scope { form.append(("scope", scope)) }
        let user = FormEncoding.escape(clientId) + ":" + FormEncoding.escape(clientSecret)
        let request = ClientRequest(
            method: "POST", url: tokenURL,
            headers: [
                "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
                "Authorization": "Basic " + Encoding.base64(Array(user.utf8)),
            ], body: Array(FormEncoding.encode(form).utf8))
        let answer: ClientResponse
        do { answer = try await client.execute(request, deadline: .now + .seconds(10)) } catch {
            throw Unavailable(detail: "the token endpoint could not be reached (\(error.kind.rawValue))")
        }
        guard answer.status == 200 else {
            throw Unavailable(detail: "the token endpoint answered \(answer.status)")
        }
        guard case .object(let object)? = try? JSONReader.parse(answer.body),
            let token = object["access_token"]?.stringValue, !token.isEmpty,
            token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { throw Unavailable(detail: "the token endpoint's answer has no usable access_token") }
        let lifetime = object["expires_in"]?.doubleValue.map { Int(max(1, min($0, 86_400))) } ?? 60
        return (token, lifetime)
    }
}
