import Cryptography
import Foundation
import HTTPCore

/// Produces correctly signed requests for a partner: what `citygate sign` prints for city IT teams
/// and partners to test with. The signing itself is the scheme's (``PartnerScheme/sign(_:keyId:now:nonce:)``).
public struct RequestSigner: Sendable {
    /// Why a request could not be signed.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// What is missing or wrong.
        public var description: String
    }

    /// The partner.
    public let partner: PartnerConfiguration

    /// Creates a signer.
    public init(partner: PartnerConfiguration) {
        self.partner = partner
    }

    /// Signs a request with the partner's first key (or the key named `keyId`).
    /// - Parameters:
    ///   - method: the method; partner events are POSTed.
    ///   - path: the path; events go to `/v1/partners/{id}/events`.
    ///   - rawQuery: extra query parameters (WeChat adds its own).
    ///   - body: the content; for alipay-rsa2, form parameters to sign.
    ///   - now: Unix seconds to sign with.
    public func sign(
        method: String = "POST", path: String? = nil, rawQuery: String? = nil, body: [UInt8], keyId: String? = nil,
        now: Int64 = Int64(Date().timeIntervalSince1970)
    ) throws(Failure) -> SignedRequest {
        let path = path ?? "/v1/partners/\(partner.id)/events"
        let nonce = Encoding.hex((try? SecureBytes.random(count: 12)) ?? [])
        var request = SignedRequest(method: method, path: path, rawQuery: rawQuery, body: body)
        do {
            try partner.scheme.sign(&request, keyId: keyId, now: now, nonce: nonce)
        } catch {
            throw Failure(description: error.description)
        }
        // Names the caller for synchronous calls (its signature proves it); harmless on events.
        request.headers.add(name: "X-Partner-Id", value: partner.id)
        return request
    }

    /// A `curl` command line that sends `request` to `baseURL`, with the body through stdin-free
    /// `--data-binary` so its bytes are exactly the signed ones.
    ///   - clientCertificate: PEM certificate and key files to present over TLS (`--cert`, `--key`).
    public static func curlCommand(
        _ request: SignedRequest, baseURL: String, clientCertificate: (certificate: String, key: String)? = nil
    ) -> String {
        func quote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        var parts = ["curl", "-sS", "-i", "-X", request.method]
        if let clientCertificate {
            parts += ["--cert", quote(clientCertificate.certificate), "--key", quote(clientCertificate.key)]
        }
        for field in request.headers { parts += ["-H", quote("\(field.name): \(field.value)")] }
        if !request.body.isEmpty { parts += ["--data-binary", quote(String(decoding: request.body, as: UTF8.self))] }
        let target = request.rawQuery.map { "\(request.path)?\($0)" } ?? request.path
        parts.append(quote(baseURL + target))
        return parts.joined(separator: " ")
    }
}
