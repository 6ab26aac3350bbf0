// citygate-client-bench URL CONCURRENCY SECONDS [--requests FILE] [--rate N]
// Drives CONCURRENCY requests in flight through HTTPClient, on one event loop, for SECONDS and prints one JSON line:
// requests/s, p50/p99 latency (ms), and the process's CPU time per request (µs). `make bench`
// compares it with wrk at the same concurrency against the same backend.
// With --requests FILE (one JSON request per line: method, path, query, headers, body in base64,
// as `citygate sign --format json` prints), each request is sent exactly once, in order, to URL +
// its path: pre-signed calls for the pipeline benchmark, where replay protection refuses repeats.
// With --rate N, requests start on a fixed schedule (N per second in all, open loop) instead of
// back to back, and each latency is measured from the request's scheduled start: a server that
// falls behind is charged for the wait (no coordinated omission). CONCURRENCY then only bounds
// how many may be in flight.
import EventLoops
import Foundation
import HTTPClient
import HTTPCore
import HTTPServer
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

let arguments = CommandLine.arguments
let usage = "usage: citygate-client-bench URL CONCURRENCY SECONDS [--requests FILE] [--rate N]"
if arguments.contains("--help") || arguments.contains("-h") {
    print(usage)
    exit(0)
}
var requestsFile: String?
var rate: Double?
var options = arguments.dropFirst(4)
while let flag = options.popFirst() {
    guard let value = options.popFirst() else { break }
    switch flag {
    case "--requests": requestsFile = value
    case "--rate": rate = Double(value)
    default: FileHandle.standardError.write(Data("\(usage)\n".utf8)); exit(2)
    }
}
guard arguments.count >= 4, arguments.count % 2 == 0, let concurrency = Int(arguments[2]),
    let seconds = Double(arguments[3]), rate.map({ $0 > 0 }) ?? true
else {
    FileHandle.standardError.write(Data("\(usage)\n".utf8))
    exit(2)
}
let url = arguments[1]
let openLoopRate = rate

/// Pre-built requests, handed out once each.
final class RequestQueue: Sendable {
    let requests: [ClientRequest]
    let next = Atomic<Int>(0)
    /// Tickets for the open-loop schedule (`--rate`): request n starts at start + n / rate.
    let tickets = Atomic<Int>(0)
    init(requests: [ClientRequest]) { self.requests = requests }
    func take() -> ClientRequest? {
        let index = next.add(1, ordering: .relaxed).oldValue
        return index < requests.count ? requests[index] : nil
    }
}

var prepared: [ClientRequest] = []
if let requestsFile, let text = try? String(contentsOfFile: requestsFile, encoding: .utf8) {
    for line in text.split(separator: "\n") {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
        var headers = Headers()
        for pair in object["headers"] as? [[String]] ?? [] where pair.count == 2 {
            headers.add(name: pair[0], value: pair[1])
        }
        let query = object["query"] as? String ?? ""
        let path = (object["path"] as? String ?? "/") + (query.isEmpty ? "" : "?" + query)
        prepared.append(
            ClientRequest(
                method: object["method"] as? String ?? "POST", url: url + path, headers: headers,
                body: Array(Data(base64Encoded: object["body"] as? String ?? "") ?? Data())))
    }
}
let queue = RequestQueue(requests: prepared)
// One event loop drives both libcurl and the tasks that call it, as in the gateway, where a
// request handler's backend call runs on the loop of its connection.
let loops = try EventLoopGroup(threadCount: 1)
let loop = loops.loops[0]
let client = try HTTPClient(configuration: .init(maxConnectionsPerHost: concurrency, version: .http1), loops: loops)

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

// Warm the pool so connection set-up is not measured (pre-signed runs warm with their first
// request instead, which then counts like the others).
if prepared.isEmpty { _ = try? await client.execute(ClientRequest(url: url), deadline: .now + .seconds(5)) }
let cpuBefore = cpuSeconds()
let start = ContinuousClock.now
let end = start + .milliseconds(Int(seconds * 1000))
let (count, failures, latencies) = await withTaskGroup(of: (Int, Int, [Double]).self) { group in
    for _ in 0..<concurrency {
        group.addTask(executorPreference: loop) {
            var count = 0
            var failures = 0
            var latencies: [Double] = []
            latencies.reserveCapacity(100_000)
            while ContinuousClock.now < end {
                var began = ContinuousClock.now
                if let rate = openLoopRate {
                    let ticket = queue.tickets.add(1, ordering: .relaxed).oldValue
                    let scheduled = start + .nanoseconds(Int64(Double(ticket) / rate * 1e9))
                    guard scheduled < end else { break }
                    if scheduled > began { try? await Task.sleep(until: scheduled, clock: .continuous) }
                    began = scheduled
                }
                let request: ClientRequest
                if queue.requests.isEmpty {
                    request = ClientRequest(url: url)
                } else if let next = queue.take() {
                    request = next
                } else {
                    break
                }
                do {
                    let response = try await client.execute(request, deadline: .now + .seconds(5))
                    if (200..<300).contains(response.status) { count += 1 } else { failures += 1 }
                } catch {
                    failures += 1
                }
                let elapsed = began.duration(to: .now).components
                latencies.append(Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) / 1e15)
            }
            return (count, failures, latencies)
        }
    }
    var total = (0, 0, [Double]())
    for await (count, failures, latencies) in group {
        total.0 += count
        total.1 += failures
        total.2.append(contentsOf: latencies)
    }
    return total
}
let elapsed = start.duration(to: .now).components
let wall = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
let cpu = cpuSeconds() - cpuBefore
let sorted = latencies.sorted()
func percentile(_ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}
print(
    String(
        format:
            "{\"requestsPerSecond\":%.0f,\"requests\":%d,\"failures\":%d,\"p50ms\":%.3f,\"p90ms\":%.3f,\"p99ms\":%.3f,\"p999ms\":%.3f,\"cpuMicrosecondsPerRequest\":%.1f}",
        Double(count) / wall, count, failures, percentile(0.5), percentile(0.9), percentile(0.99), percentile(0.999),
        cpu / Double(max(count, 1)) * 1e6))
client.shutdown()
loops.shutdown()
