// citygate-client-bench URL CONCURRENCY SECONDS
// Drives CONCURRENCY requests in flight through HTTPClient for SECONDS and prints one JSON line:
// requests/s, p50/p99 latency (ms), and the process's CPU time per request (µs). `make bench`
// compares it with wrk at the same concurrency against the same backend.
import Foundation
import HTTPClient
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count == 4, let concurrency = Int(arguments[2]), let seconds = Double(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: citygate-client-bench URL CONCURRENCY SECONDS\n".utf8))
    exit(2)
}
let url = arguments[1]
let client = try HTTPClient(configuration: .init(maxConnectionsPerHost: concurrency, version: .http1))

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

// Warm the pool so connection set-up is not measured.
_ = try? await client.execute(ClientRequest(url: url), deadline: .now + .seconds(5))
let cpuBefore = cpuSeconds()
let start = ContinuousClock.now
let end = start + .milliseconds(Int(seconds * 1000))
let (count, failures, latencies) = await withTaskGroup(of: (Int, Int, [Double]).self) { group in
    for _ in 0..<concurrency {
        group.addTask {
            var count = 0
            var failures = 0
            var latencies: [Double] = []
            latencies.reserveCapacity(100_000)
            while ContinuousClock.now < end {
                let began = ContinuousClock.now
                do {
                    let response = try await client.execute(ClientRequest(url: url), deadline: .now + .seconds(5))
                    if response.status == 200 { count += 1 } else { failures += 1 }
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
            "{\"requestsPerSecond\":%.0f,\"failures\":%d,\"p50ms\":%.3f,\"p99ms\":%.3f,\"cpuMicrosecondsPerRequest\":%.1f}",
        Double(count) / wall, failures, percentile(0.5), percentile(0.99), cpu / Double(max(count, 1)) * 1e6))
client.shutdown()
