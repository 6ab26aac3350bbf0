import Cryptography
import Foundation
import HTTPCore

/// Produces correctly signed requests for a partner: what `citygate sign` prints for city IT teams
/// and partners to test with, and how CityGate will sign what it sends to partners.
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
        guard let key = keyId.map({ id in partner.keys.first { $0.id == id } }) ?? partner.keys.first else {
            throw Failure(description: "partner \(partner.id) has no key \(keyId ?? "")")
        }
        let path = path ?? "/v1/partners/\(partner.id)/events"
        let nonce = Encoding.hex((try? SecureBytes.random(count: 12)) ?? [])
        var request = SignedRequest(method: method, path: path, rawQuery: rawQuery, body: body)
        do {
            switch partner.scheme {
            case .standardWebhooks:
                guard let secret = key.secret else { throw Failure(description: "key \(key.id) has no secret") }
                let id = "msg_" + nonce
                request.headers = [
                    "webhook-id": id, "webhook-timestamp": "\(now)",
                    "webhook-signature": try StandardWebhooksVerifier.sign(
                        id: id, timestamp: now, body: body, secret: secret),
                    "Content-Type": "application/json",
                ]
            case .hmacSHA256:
                guard let secret = key.secret else { throw Failure(description: "key \(key.id) has no secret") }
                let header = try GenericHMACVerifier.sign(
                    timestamp: now, method: method, path: path, rawQuery: rawQuery, body: body,
                    secret: PartnerSecret(id: key.id, bytes: secret))
                request.headers = ["X-Signature": header, "Content-Type": "application/json"]
            case .wechat:
                guard let token = key.token else { throw Failure(description: "key \(key.id) has no token") }
                var parameters = [("timestamp", "\(now)"), ("nonce", nonce)]
                if let aesKey = partner.wechatAESKey, let appId = partner.wechatAppId {
                    let encrypted = try WeChatVerifier.encrypt(body, aesKey: aesKey, appId: appId)
                    request.body = Array(
                        "<xml><ToUserName><![CDATA[\(appId)]]></ToUserName><Encrypt><![CDATA[\(encrypted)]]></Encrypt></xml>"
                            .utf8)
                    parameters += [
                        ("encrypt_type", "aes"),
                        ("msg_signature", WeChatVerifier.signature([token, "\(now)", nonce, encrypted])),
                    ]
                }
                parameters.append(("signature", WeChatVerifier.signature([token, "\(now)", nonce])))
                let signed = FormEncoding.encode(parameters)
                request.rawQuery = rawQuery.map { "\($0)&\(signed)" } ?? signed
                request.headers = ["Content-Type": "text/xml"]
            case .wechatPayV3:
                guard let privateKey = key.privateKey, let serial = key.serial else {
                    throw Failure(
                        description: "key \(key.id) needs certificate and privateKey to sign (demo partners only)")
                }
                request.headers = [
                    "Wechatpay-Timestamp": "\(now)", "Wechatpay-Nonce": nonce, "Wechatpay-Serial": serial,
                    "Wechatpay-Signature": try WeChatPayVerifier.sign(
                        timestamp: "\(now)", nonce: nonce, body: body, privateKey: privateKey),
                    "Content-Type": "application/json",
                ]
            case .alipayRSA2:
                guard let privateKey = key.privateKey else {
                    throw Failure(description: "key \(key.id) needs privateKey to sign (demo partners only)")
                }
                guard let pairs = FormEncoding.decodePairs(String(decoding: body, as: UTF8.self)) else {
                    throw Failure(description: "alipay-rsa2 bodies are form parameters: name=value&...")
                }
                var parameters = pairs.filter { $0.0 != "sign" && $0.0 != "sign_type" }
                if !parameters.contains(where: { $0.0 == "notify_id" }) { parameters.append(("notify_id", nonce)) }
                request.body = Array(try AlipayVerifier.signedForm(parameters, privateKey: privateKey).utf8)
                request.headers = ["Content-Type": "application/x-www-form-urlencoded; charset=utf-8"]
            }
            // Names the caller for synchronous calls (its signature proves it); harmless on events.
            request.headers.add(name: "X-Partner-Id", value: partner.id)
        } catch let error as CryptoError {
            throw Failure(description: "signing failed: \(error.operation)")
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "signing failed")
        }
        return request
    }

    /// A `curl` command line that sends `request` to `baseURL`, with the body through stdin-free
    /// `--data-binary` so its bytes are exactly the signed ones.
    public static func curlCommand(_ request: SignedRequest, baseURL: String) -> String {
        func quote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        var parts = ["curl", "-sS", "-i", "-X", request.method]
        for field in request.headers { parts += ["-H", quote("\(field.name): \(field.value)")] }
        if !request.body.isEmpty { parts += ["--data-binary", quote(String(decoding: request.body, as: UTF8.self))] }
        let target = request.rawQuery.map { "\(request.path)?\($0)" } ?? request.path
        parts.append(quote(baseURL + target))
        return parts.joined(separator: " ")
    }
}
