import Foundation
import Synchronization

/// Counters and histograms for `/metrics`, in the Prometheus text exposition format (0.0.4).
///
/// Label values come only from configuration (city codes, service ids, partner ids, backend
/// names) or from small fixed sets (statuses, reasons, scopes): a caller's input never becomes a
/// label, so the number of series stays bounded whatever partners send.
public final class Metrics: Sendable {
    /// Latency buckets in seconds.
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private struct Histogram {
        var counts = [Int](repeating: 0, count: Metrics.buckets.count)
        var count = 0
        var sum = 0.0

        mutating func record(_ seconds: Double) {
            for (index, bound) in Metrics.buckets.enumerated() where seconds <= bound { counts[index] += 1 }
            count += 1
            sum += seconds
        }
    }

    private struct State {
        var counters: [String: [String: Double]] = [:]  // metric → rendered labels → value
        var histograms: [String: [String: Histogram]] = [:]
    }

    private let state = Mutex(State())

    /// The help text of every metric, also fixing its type.
    static let help: [String: (type: String, help: String)] = [
        "citygate_requests_total": ("counter", "Partner calls by city, service, operation, partner and status."),
        "citygate_request_duration_seconds": ("histogram", "Whole partner call duration by city and service."),
        "citygate_backend_duration_seconds": ("histogram", "Backend call duration by backend (city/name)."),
        "citygate_verification_failures_total": ("counter", "Partner signature refusals by partner and reason."),
        "citygate_rate_limit_refusals_total": ("counter", "Calls refused by a rate limit, by scope."),
        "citygate_events_received_total": ("counter", "Partner events by partner and outcome."),
        "citygate_subject_mismatches_total": (
            "counter", "Calls refused because a bound input field named another citizen, by operation and field."
        ),
        "citygate_case_record_failures_total": (
            "counter", "Cases the backend opened that the gateway could not record, by city."
        ),
    ]

    /// Creates an empty registry.
    public init() {}

    static func labels(_ pairs: KeyValuePairs<String, String>) -> String {
        // Appended into one string: this runs a few times on every call.
        var text = ""
        text.reserveCapacity(128)
        for (key, value) in pairs {
            if !text.isEmpty { text.append(",") }
            text.append(key)
            text.append("=\"")
            text.append(escape(value))
            text.append("\"")
        }
        return text
    }

    static func escape(_ value: String) -> String {
        // Label values are configured names: almost never anything to escape, so look first.
        guard value.utf8.contains(where: { $0 == 0x5C || $0 == 0x22 || $0 == 0x0A }) else { return value }
        return value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Adds `amount` to a counter.
    func increment(_ name: String, _ labels: KeyValuePairs<String, String>, by amount: Double = 1) {
        let key = Self.labels(labels)
        state.withLock { $0.counters[name, default: [:]][key, default: 0] += amount }
    }

    /// Records one observation of a histogram.
    func observe(_ name: String, _ labels: KeyValuePairs<String, String>, seconds: Double) {
        observe(name, labelText: Self.labels(labels), seconds: seconds)
    }

    /// Records one observation under labels already rendered by ``labels(_:)`` (a route
    /// renders its own once per snapshot instead of on every call).
    func observe(_ name: String, labelText key: String, seconds: Double) {
        // In place: a copy taken out and written back would copy the bucket array every time.
        state.withLock { $0.histograms[name, default: [:]][key, default: Histogram()].record(seconds) }
    }

    /// One label's values of a counter, summed over its other labels (for `/status`).
    func totals(_ name: String, by label: String) -> [String: Double] {
        let series = state.withLock { $0.counters[name] ?? [:] }
        var totals: [String: Double] = [:]
        for (labels, value) in series {
            guard let range = labels.range(of: "\(label)=\"") else { continue }
            let rest = labels[range.upperBound...]
            guard let end = rest.firstIndex(of: "\"") else { continue }
            totals[String(rest[..<end]), default: 0] += value
        }
        return totals
    }

    /// The registry's series plus `gauges` (name → (help, [(labels, value)])), rendered.
    func render(gauges: [(name: String, help: String, samples: [(labels: String, value: Double)])]) -> String {
        let (counters, histograms) = state.withLock { ($0.counters, $0.histograms) }
        var out = ""
        for name in Set(counters.keys).union(histograms.keys).union(Self.help.keys).sorted() {
            guard let meta = Self.help[name] else { continue }
            out += "# HELP \(name) \(meta.help)\n# TYPE \(name) \(meta.type)\n"
            for (labels, value) in (counters[name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                out += "\(name){\(labels)} \(Self.number(value))\n"
            }
            for (labels, histogram) in (histograms[name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                let prefix = labels.isEmpty ? "" : labels + ","
                for (index, bound) in Self.buckets.enumerated() {
                    out += "\(name)_bucket{\(prefix)le=\"\(Self.number(bound))\"} \(histogram.counts[index])\n"
                }
                out += "\(name)_bucket{\(prefix)le=\"+Inf\"} \(histogram.count)\n"
                out += "\(name)_sum{\(labels)} \(Self.number(histogram.sum))\n"
                out += "\(name)_count{\(labels)} \(histogram.count)\n"
            }
        }
        for gauge in gauges {
            out += "# HELP \(gauge.name) \(gauge.help)\n# TYPE \(gauge.name) gauge\n"
            for sample in gauge.samples {
                out +=
                    sample.labels.isEmpty
                    ? "\(gauge.name) \(Self.number(sample.value))\n"
                    : "\(gauge.name){\(sample.labels)} \(Self.number(sample.value))\n"
            }
        }
        return out
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
