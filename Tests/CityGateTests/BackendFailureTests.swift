import CityGate
import HTTPClient
import HTTPCore
import Testing

struct BackendFailureTests {
    static func transport(_ kind: CurlError.Kind) -> BackendCallError {
        .transport(CurlError(kind: kind, code: 7, message: "Failed to connect to 10.1.2.3 port 8443 /secret/path"))
    }

    @Test(arguments: [
        (BackendCallError.circuitOpen(backend: "hrss"), 503, "backend-circuit-open"),
        (.bulkheadFull(backend: "hrss", limit: 32), 503, "backend-busy"),
        (transport(.timeout), 504, "backend-timeout"), (transport(.connectRefused), 502, "backend-unavailable"),
        (transport(.dns), 502, "backend-unavailable"), (transport(.reset), 502, "backend-unavailable"),
        (transport(.tls), 502, "backend-tls-failure"), (transport(.tooLarge), 502, "backend-response-too-large"),
        (transport(.other), 502, "backend-error"),
    ])
    func mapsEachFailureToAProblemNamingTheBackend(error: BackendCallError, status: Int, slug: String) {
        let response = BackendFailure.response(for: error, backend: "hrss", requestId: "r-1")
        #expect(response.status.code == status)
        let body = String(decoding: response.body, as: UTF8.self)
        #expect(body.contains("\"type\":\"tag:citygate,2026:problem:\(slug)\""))
        #expect(body.contains("\"backend\":\"hrss\""))
        #expect(body.contains("'hrss'"))
        #expect(!body.contains("10.1.2.3"), "libcurl's text (hosts, paths) never reaches the partner")
        #expect(!body.contains("secret"))
        #expect((response.headers["Retry-After"] != nil) == error.isRefusal)
    }
}
