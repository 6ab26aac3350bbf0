import CityGate
import HTTPClient
import HTTPCore
import Testing

struct BackendFailureTests {
    @Test(arguments: [
        (CurlError.Kind.circuitOpen, 503, "backend-circuit-open"), (.bulkheadFull, 503, "backend-busy"),
        (.timeout, 504, "backend-timeout"), (.connectRefused, 502, "backend-unavailable"),
        (.dns, 502, "backend-unavailable"), (.reset, 502, "backend-unavailable"), (.tls, 502, "backend-tls-failure"),
        (.tooLarge, 502, "backend-response-too-large"), (.other, 502, "backend-error"),
    ])
    func mapsEachKindToAProblemNamingTheBackend(kind: CurlError.Kind, status: Int, slug: String) {
        let error = CurlError(kind: kind, code: 7, message: "Failed to connect to 10.1.2.3 port 8443 /secret/path")
        let response = BackendFailure.response(for: error, backend: "hrss", requestId: "r-1")
        #expect(response.status.code == status)
        let body = String(decoding: response.body, as: UTF8.self)
        #expect(body.contains("\"type\":\"tag:citygate,2026:problem:\(slug)\""))
        #expect(body.contains("\"backend\":\"hrss\""))
        #expect(body.contains("'hrss'"))
        #expect(!body.contains("10.1.2.3"), "libcurl's text (hosts, paths) never reaches the partner")
        #expect(!body.contains("secret"))
        #expect((response.headers["Retry-After"] != nil) == (kind == .circuitOpen || kind == .bulkheadFull))
    }
}
