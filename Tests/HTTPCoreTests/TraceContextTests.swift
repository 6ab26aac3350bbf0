import HTTPCore
import Testing

/// `traceparent` parsing (W3C Trace Context §3.2) and children.
struct TraceContextTests {
    @Test
    func continuesAWellFormedTrace() throws {
        let trace = try #require(TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
        #expect(trace.traceId == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(trace.parentId == "00f067aa0ba902b7")
        let child = trace.child(spanId: [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(child == "00-4bf92f3577b34da6a3ce929d0e0e4736-0102030405060708-01")
        #expect(TraceContext(traceparent: child) != nil)
    }

    @Test(arguments: [
        "", "00", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
    ])
    func refusesMalformedValues(value: String) {
        #expect(TraceContext(traceparent: value) == nil, "\(value)")
    }

    @Test
    func startsAFreshTrace() throws {
        let trace = TraceContext(random: Array(repeating: 0xAB, count: 16))
        #expect(trace.traceId == String(repeating: "ab", count: 16))
        #expect(trace.parentId == nil)
        #expect(TraceContext(traceparent: trace.child(spanId: [9, 9, 9, 9, 9, 9, 9, 9])) != nil)
    }
}
