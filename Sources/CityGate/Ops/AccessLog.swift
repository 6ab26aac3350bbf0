import Foundation
import HTTPCore
import HTTPServer

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
        var fields: [String: String] = [
            "requestId": context.requestId, "method": request.method, "path": request.path,
            "status": "\(response.status.code)", "durationMs": Self.milliseconds(microseconds),
            "requestBytes": "\(request.body.count)", "responseBytes": "\(response.body.count)",
        ]
        let manifests = active.snapshot.manifests
        if let partner = request.headers["x-partner-id"], manifests.partners[partner] != nil {
            fields["partner"] = partner
        }
        // /v1/cities/{city}/services/{service}/{operation} and /v1/partners/{partner}/events
        let segments = request.path.split(separator: "/").map(String.init)
        if segments.count >= 3, segments[0] == "v1", segments[1] == "cities", manifests.cities[segments[2]] != nil {
            fields["city"] = segments[2]
            if segments.count >= 5, manifests.services[segments[4]] != nil {
                fields["service"] = segments[4]
                if segments.count >= 6, manifests.services[segments[4]]?.operations[segments[5]] != nil {
                    fields["operation"] = segments[5]
                }
            }
        } else if segments.count == 4, segments[1] == "partners", manifests.partners[segments[2]] != nil {
            fields["partner"] = segments[2]
        }
        Log.info("access", fields)
        return response
    }

    /// `1234` µs as `1.234` (String(format:) goes through CoreFoundation on every line).
    static func milliseconds(_ microseconds: Int64) -> String {
        let fraction = String(microseconds % 1000)
        return "\(microseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
