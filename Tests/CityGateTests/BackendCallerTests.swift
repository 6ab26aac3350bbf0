import CityGate
import Foundation
import HTTPCore
import TestSupport
import Testing

/// Partner calls and event deliveries leave through one component (`BackendCaller`): the same
/// request id header, W3C trace context and backend-duration metric for both. Deliveries used to
/// carry no `traceparent` and were missing from the backend histogram.
@Suite(.serialized)
struct BackendCallerTests {
    static func requests(_ environment: CallEndToEndTests.Environment, backend: String) throws -> [[String: String]] {
        let client = try RawClient(port: UInt16(try #require(environment.mockPorts[backend])))
        try client.send("GET /_mock/requests HTTP/1.1\r\nHost: mock\r\n\r\n")
        return try #require(
            try JSONSerialization.jsonObject(with: Data(client.readResponse().body)) as? [[String: String]])
    }

    @Test
    func deliveriesCarryTheSameTraceContextAndMetricsAsCalls() async throws {
        let environment = try CallEndToEndTests.Environment()
        defer { environment.stop() }
        let accepted = try EventEndToEndTests.caseEvent(environment, id: "msg_trace_1")
        #expect(accepted.statusCode == 204, "\(accepted.text)")
        #expect(await eventually { (try? EventEndToEndTests.count(environment, "delivered")) == 1 })
        let delivery = try #require(
            try Self.requests(environment, backend: "approvals").first { $0["path"] == "/api/permits/events" })
        let traceparent = try #require(delivery["traceparent"], "\(delivery)")
        #expect(TraceContext(traceparent: traceparent) != nil)
        // A partner call on the same backend kind gets one too, continuing the partner's trace.
        let call = try environment.call(
            "webhooks-demo", "service-hall.queue", "status", input: #"{"hall":"west-lake"}"#)
        #expect(call.statusCode == 200)
        let metrics = try RawClient(port: environment.gateway.opsPort)
        try metrics.send("GET /metrics HTTP/1.1\r\nHost: ops\r\n\r\n")
        let text = try metrics.readResponse().text
        #expect(
            text.contains("citygate_backend_duration_seconds_count{backend=\"330100/approvals\"}"), "deliveries timed")
        #expect(text.contains("citygate_backend_duration_seconds_count{backend=\"330100/halls\"}"), "calls timed")
    }
}
