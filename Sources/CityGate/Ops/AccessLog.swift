import Foundation
import HTTPCore
import HTTPServer
import Logging

/// One structured JSON access line per request on the public listener (standard output):
/// request id, method, path without its query, city / service / operation / partner (configured
/// names only), status, duration and bytes. Queries, bodies and tokens are never logged, and the
/// line passes through ``PersonalDataMask`` like every log line.
struct AccessLog: Responder {
    let inner: any Responder
    let active: ActiveConfiguration

    func respond(to request: Request, context: RequestContext) async -> Response {
        let started = ContinuousClock.now
        let response = await inner.respond(to: request, context: context)
        // The benchmark-only route stays unlogged, like the nginx it is compared with.
        if request.path == "/bench/fixed" { return response }
        let elapsed = ContinuousClock.now - started
        let microseconds = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        // Names are checked without copying any manifest value out (a ServiceManifest or an
        // Operation copied to test its presence retains every reference inside it).
        let snapshot = active.snapshot
        var partner = ""
        if let named = request.headers["x-partner-id"], snapshot.manifests.partners.index(forKey: named) != nil {
            partner = named
        }
        var city = ""
        var service = ""
        var operation = ""
        // /v1/cities/{city}/services/{service}/{operation} and /v1/partners/{partner}/events
        let segments = request.path.utf8.split(separator: UInt8(ascii: "/"), maxSplits: 6)
        if segments.count >= 3, segments[0].elementsEqual("v1".utf8) {
            let third = String(decoding: segments[2], as: UTF8.self)
            if segments[1].elementsEqual("cities".utf8), snapshot.manifests.cities.index(forKey: third) != nil {
                city = third
                if segments.count >= 5 {
                    let named = String(decoding: segments[4], as: UTF8.self)
                    if let operations = snapshot.operationNames[named] {
                        service = named
                        if segments.count >= 6 {
                            let operationName = String(decoding: segments[5], as: UTF8.self)
                            if operations.contains(operationName) { operation = operationName }
                        }
                    }
                }
            } else if segments.count == 4, segments[1].elementsEqual("partners".utf8),
                snapshot.manifests.partners.index(forKey: third) != nil
            {
                partner = third
            }
        }
        // Keys in alphabetical order, as every other log line has them.
        Log.info(
            "access",
            ordered: [
                "city": city, "durationMs": Self.milliseconds(microseconds), "method": request.method,
                "operation": operation, "partner": partner, "path": request.path,
                "requestBytes": String(request.body.count), "requestId": context.requestId,
                "responseBytes": String(response.body.count), "service": service,
                "status": String(response.status.code),
            ])
        return response
    }

    /// `1234` µs as `1.234` (String(format:) goes through CoreFoundation on every line).
    static func milliseconds(_ microseconds: Int64) -> String {
        let fraction = String(microseconds % 1000)
        return "\(microseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
