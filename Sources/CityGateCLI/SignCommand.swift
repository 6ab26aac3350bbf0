import CityGate
import Foundation
import HTTPCore
import HTTPServer
import Logging

/// `citygate sign (--partner ID | --backend CITY/NAME) [--manifests DIR] [--method M] [--path P] [--query Q]
///  [--body TEXT | --body-file FILE] [--key KEY-ID] [--url BASE] [--format curl|json] [--count N]
///  [--bearer ACCESS-TOKEN] [--tls-cert FILE --tls-key FILE]`
///
/// Prints a correctly signed request for the partner's scheme, as a curl command (default) or as
/// JSON (method, path, query, headers, body in base64) for scripts; `--count N` prints N distinct
/// signed requests, one per line (for load tests, where replay protection refuses repeats).
/// `--backend 330100/approvals` signs as that city backend with its `progressKeys` (case progress
/// reports, docs/cases.md). `--tls-cert`/`--tls-key` add the client certificate a partner pinned
/// (docs/edge.md) to the curl command.
enum SignCommand {
    static func run(_ arguments: [String]) -> Never {
        var partnerId: String?
        var backend: String?
        var manifests = "manifests"
        var method = "POST"
        var path: String?
        var query: String?
        var body: [UInt8] = []
        var keyId: String?
        var baseURL = "http://127.0.0.1:8080"
        var format = "curl"
        var count = 1
        var bearer: String?
        var tlsCertificate: String?
        var tlsKey: String?
        var remaining = arguments[...]
        while let flag = remaining.popFirst() {
            guard let value = remaining.popFirst() else { usageError("\(flag) needs a value") }
            switch flag {
            case "--partner": partnerId = value
            case "--backend": backend = value
            case "--manifests": manifests = value
            case "--method": method = value
            case "--path": path = value
            case "--query": query = value
            case "--body": body = Array(value.utf8)
            case "--body-file":
                guard let data = FileManager.default.contents(atPath: value) else { usageError("cannot read \(value)") }
                body = Array(data)
            case "--key": keyId = value
            case "--count":
                guard let number = Int(value), (1...10_000_000).contains(number) else {
                    usageError("--count takes 1 to 10000000")
                }
                count = number
            case "--url": baseURL = value
            case "--bearer": bearer = value
            case "--tls-cert": tlsCertificate = value
            case "--tls-key": tlsKey = value
            case "--format":
                guard value == "curl" || value == "json" else { usageError("--format is curl or json") }
                format = value
            default: usageError("unknown option '\(flag)'")
            }
        }
        if (tlsCertificate == nil) != (tlsKey == nil) { usageError("--tls-cert and --tls-key go together") }
        let clientCertificate = tlsCertificate.flatMap { certificate in tlsKey.map { (certificate, $0) } }
        let partner: PartnerConfiguration
        if let backend {
            partner = loadReporter(backend, manifests: manifests)
        } else {
            guard let partnerId else { usageError("sign needs --partner ID or --backend CITY/NAME") }
            partner = loadPartner(partnerId, manifests: manifests)
        }
        do {
            let signer = RequestSigner(partner: partner)
            var output = ""
            for _ in 0..<count {
                var request = try signer.sign(method: method, path: path, rawQuery: query, body: body, keyId: keyId)
                if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
                if format == "curl" {
                    output +=
                        RequestSigner.curlCommand(
                            request, baseURL: baseURL, clientCertificate: clientCertificate) + "\n"
                } else {
                    let object: [String: Any] = [
                        "method": request.method, "path": request.path, "query": request.rawQuery ?? "",
                        "headers": request.headers.map { [$0.name, $0.value] },
                        "body": Data(request.body).base64EncodedString(),
                    ]
                    let data = try JSONSerialization.data(
                        withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                    output += String(decoding: data, as: UTF8.self) + "\n"
                }
                if output.utf8.count > 1 << 20 {
                    FileHandle.standardOutput.write(Data(output.utf8))
                    output = ""
                }
            }
            FileHandle.standardOutput.write(Data(output.utf8))
            exit(0)
        } catch {
            Log.standardError("citygate sign: \(error)\n")
            exit(1)
        }
    }
}

/// The signer of a city backend's progress reports, or exits.
func loadReporter(_ name: String, manifests: String) -> PartnerConfiguration {
    let parts = name.split(separator: "/").map(String.init)
    guard parts.count == 2 else { usageError("--backend takes CITY/NAME, e.g. 330100/approvals") }
    switch ManifestSet.load(directory: manifests) {
    case .failure(let problems):
        Log.standardError(problems.description + "\n")
        exit(1)
    case .success(let set):
        guard let reporter = set.progressReporter(city: parts[0], backend: parts[1]) else {
            Log.standardError("citygate sign: city \(parts[0]) has no backend \(parts[1]) with progressKeys\n")
            exit(1)
        }
        return reporter
    }
}

/// Loads `partners/<id>.json` from the manifests tree, or exits: 2 for an id that is a path, 1
/// with every problem of an invalid file.
func loadPartner(_ partnerId: String, manifests: String) -> PartnerConfiguration {
    guard partnerId.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
        usageError("--partner takes a partner id, not a path")
    }
    let file = URL(fileURLWithPath: manifests).appendingPathComponent("partners/\(partnerId).json").path
    switch PartnerConfiguration.load(path: file, displayName: "partners/\(partnerId).json") {
    case .success(let loaded): return loaded
    case .failure(let problems):
        Log.standardError(problems.description + "\n")
        exit(1)
    }
}
