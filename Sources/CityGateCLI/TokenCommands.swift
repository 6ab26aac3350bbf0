import CityGate
import Cryptography
import Foundation
import HTTPServer
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// `citygate hash-secret` and `citygate assertion`: what city IT and partner developers need to
/// set up OAuth clients and try token exchange.
enum TokenCommands {
    /// `citygate hash-secret [--secret TEXT | stdin]`: prints the `secretHash` for a client
    /// secret; with no `--secret`, reads the secret from standard input (keeps it out of `ps`).
    static func hashSecret(_ arguments: [String]) -> Never {
        var secret: String?
        var remaining = arguments[...]
        while let flag = remaining.popFirst() {
            guard let value = remaining.popFirst() else { usageError("\(flag) needs a value") }
            switch flag {
            case "--secret": secret = value
            default: usageError("unknown option '\(flag)'")
            }
        }
        let text =
            secret
            ?? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .newlines)
        guard text.utf8.count >= 16 else { usageError("a client secret has at least 16 characters") }
        do {
            print(try PasswordHash.make(secret: text))
            exit(0)
        } catch {
            Log.standardError("citygate hash-secret: \(error)\n")
            exit(1)
        }
    }

    /// `citygate assertion --partner ID --client ID --subject ID --city CODE [--acr LEVEL]
    /// [--lifetime S] [--manifests DIR]`: a subject (or actor) assertion signed with the client's
    /// demo assertion key, for `subject_token` / `actor_token` in token exchange.
    static func assertion(_ arguments: [String]) -> Never {
        var partnerId: String?
        var clientId: String?
        var subject: String?
        var city: String?
        var level = "real-name"
        var lifetime: Int64 = 120
        var manifests = "manifests"
        var remaining = arguments[...]
        while let flag = remaining.popFirst() {
            guard let value = remaining.popFirst() else { usageError("\(flag) needs a value") }
            switch flag {
            case "--partner": partnerId = value
            case "--client": clientId = value
            case "--subject": subject = value
            case "--city": city = value
            case "--acr": level = value
            case "--manifests": manifests = value
            case "--lifetime":
                guard let seconds = Int64(value), (1...3_600).contains(seconds) else {
                    usageError("--lifetime takes 1 to 3600 seconds")
                }
                lifetime = seconds
            default: usageError("unknown option '\(flag)'")
            }
        }
        guard let partnerId, let subject, let city else {
            usageError("assertion needs --partner, --subject and --city")
        }
        let partner = loadPartner(partnerId, manifests: manifests)
        guard let client = clientId.map({ id in partner.clients.first { $0.id == id } }) ?? partner.clients.first
        else { usageError("partner \(partnerId) has no such OAuth client") }
        guard let key = client.assertionKeys.first(where: { $0.signingKey != nil }), let signingKey = key.signingKey
        else { usageError("client \(client.id) has no assertion key with a private half (demo partners only)") }
        if level == "real-name", client.realNameSubject == .residentId, !InputFormat.residentId.accepts(subject) {
            usageError(
                "a real-name assertion's --subject must be a valid 18-character resident id (GB 11643); use --acr citizen for a platform id"
            )
        }
        let now = Int64(Date().timeIntervalSince1970)
        let claims: [String: Any] = [
            "iss": client.id, "sub": subject, "aud": city, "iat": now, "exp": now + lifetime, "acr": level,
            "jti": Encoding.base64((try? SecureBytes.random(count: 16)) ?? Array(subject.utf8), urlSafe: true),
        ]
        do {
            print(
                try JSONWebToken.sign(
                    claims: claims, header: ["kid": key.id, "typ": "JWT"], algorithm: key.algorithm, key: signingKey))
            exit(0)
        } catch {
            Log.standardError("citygate assertion: \(error)\n")
            exit(1)
        }
    }
}
