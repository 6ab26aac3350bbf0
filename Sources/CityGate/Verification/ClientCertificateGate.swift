import Cryptography
import Foundation
import HTTPCore
import HTTPServer

/// Who may present which client certificate on the TLS listener, decided for every request
/// before the router picks a handler: a request names its party — a partner by `X-Partner-Id`,
/// by `/v1/partners/{partner}/…` or by its OAuth client id, a backend by
/// `/v1/cities/{city}/backends/{backend}/…` — and
///
/// ```
///   party pins certificates   →  one of them, valid now, must be presented   else 403
///   the certificate is another party's (pinned by it)                          → 403
///   otherwise                                                                   → on to the router
/// ```
///
/// A request naming no party (health, catalog, JWKS) is never refused here. The answer names no
/// other party: that the certificate "belongs to another party" is all the caller learns.
struct ClientCertificateGate: Responder {
    let inner: any Responder
    let active: ActiveConfiguration

    func respond(to request: Request, context: RequestContext) async -> Response {
        let pins = active.snapshot.certificatePins
        guard !pins.isEmpty else { return await inner.respond(to: request, context: context) }
        if let refusal = pins.refusal(for: request, certificate: context.peerCertificate) {
            return refusal.response(requestId: context.requestId)
        }
        return await inner.respond(to: request, context: context)
    }
}

/// Every pinned client certificate of a configuration, by party (built once per snapshot).
struct CertificatePins: Sendable {
    /// A partner or a backend.
    enum Party: Hashable, Sendable, CustomStringConvertible {
        case partner(String)
        case backend(city: String, name: String)

        var description: String {
            switch self {
            case .partner(let id): "Partner \(id)"
            case .backend(let city, let name): "Backend \(city)/\(name)"
            }
        }
    }

    private var byParty: [Party: [ClientCertificatePin]] = [:]
    private var all: [(pin: ClientCertificatePin, party: Party)] = []
    /// OAuth client id → its partner.
    private var clientPartners: [String: String] = [:]

    init(_ manifests: ManifestSet) {
        for (id, partner) in manifests.partners {
            for client in partner.clients { clientPartners[client.id] = id }
            guard !partner.clientCertificates.isEmpty else { continue }
            byParty[.partner(id)] = partner.clientCertificates
            all += partner.clientCertificates.map { ($0, .partner(id)) }
        }
        for (code, city) in manifests.cities {
            for (name, backend) in city.backends where !backend.clientCertificates.isEmpty {
                byParty[.backend(city: code, name: name)] = backend.clientCertificates
                all += backend.clientCertificates.map { ($0, .backend(city: code, name: name)) }
            }
        }
    }

    /// No party pins anything: the gate has nothing to decide.
    var isEmpty: Bool { all.isEmpty }

    /// Why `request` may not go on with `certificate`, or nil.
    func refusal(for request: Request, certificate: PeerCertificate?) -> ProblemError? {
        let party = Self.party(of: request, clientPartners: clientPartners)
        let owners = certificate.map { presented in Set(all.filter { $0.pin.names(presented) }.map(\.party)) } ?? []
        if let party, let pins = byParty[party] {
            guard let certificate else {
                return ProblemError(
                    .clientCertificateRequired,
                    "\(party) is known by a client certificate: present it in the TLS handshake.")
            }
            if pins.contains(where: { $0.matches(certificate) }) { return nil }
            if owners.contains(party) {
                let reason =
                    certificate.validNow
                    ? "its chain does not verify (\(certificate.chainProblem ?? "untrusted issuer"))"
                    : "it is outside its validity period"
                return ProblemError(.clientCertificateRejected, "The client certificate is \(party)'s, but \(reason).")
            }
            return ProblemError(
                owners.isEmpty ? .clientCertificateRejected : .clientCertificateMismatch,
                owners.isEmpty
                    ? "The client certificate is not one \(party) is known by."
                    : "The client certificate belongs to another party, not to \(party).")
        }
        if let party, !owners.isEmpty, !owners.contains(party) {
            return ProblemError(
                .clientCertificateMismatch, "The client certificate belongs to another party, not to \(party).")
        }
        return nil
    }

    /// The party a request names, if any.
    static func party(of request: Request, clientPartners: [String: String]) -> Party? {
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: false)
        // ["", "v1", "partners", id, …] and ["", "v1", "cities", code, "backends", name, …]
        if segments.count >= 4, segments[1] == "v1", segments[2] == "partners" {
            return .partner(String(segments[3]))
        }
        if segments.count >= 6, segments[1] == "v1", segments[2] == "cities", segments[4] == "backends" {
            return .backend(city: String(segments[3]), name: String(segments[5]))
        }
        if let partner = request.headers["x-partner-id"], !partner.isEmpty { return .partner(partner) }
        if request.path.hasPrefix("/oauth/"), let client = oauthClient(of: request),
            let partner = clientPartners[client]
        {
            return .partner(partner)
        }
        return nil
    }

    /// The client id of an OAuth request: the Basic user, else the form's `client_id`.
    private static func oauthClient(of request: Request) -> String? {
        if let authorization = request.headers["authorization"], authorization.lowercased().hasPrefix("basic "),
            let decoded = Encoding.base64Decode(String(authorization.dropFirst(6))),
            let text = String(bytes: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        {
            return FormEncoding.decode("x=" + text[..<colon])?["x"]
        }
        return (try? OAuthRoutes.form(request))?["client_id"]
    }
}
