import CityGate
import HTTPServer

/// A command-line mistake, shown with the usage text (exit 2).
struct UsageError: Error {
    let message: String
}

/// The options of `citygate serve`.
struct ServeOptions {
    var configuration = Gateway.Configuration()
    var gracePeriodSeconds = 10

    init(parsing arguments: [String]) throws(UsageError) {
        var remaining = arguments[...]
        while let flag = remaining.popFirst() {
            func value() throws(UsageError) -> String {
                guard let value = remaining.popFirst(), !value.hasPrefix("--") else {
                    throw UsageError(message: "\(flag) needs a value")
                }
                return value
            }
            switch flag {
            case "--listen":
                configuration.publicAddress = try ServeOptions.address(try value(), flag: flag)
            case "--ops":
                configuration.opsAddress = try ServeOptions.address(try value(), flag: flag)
            case "--threads":
                let text = try value()
                guard let count = Int(text), (1...256).contains(count) else {
                    throw UsageError(message: "--threads takes a whole number from 1 to 256, not '\(text)'")
                }
                configuration.threadCount = count
            case "--grace-period":
                let text = try value()
                guard let seconds = Int(text), (0...3600).contains(seconds) else {
                    throw UsageError(message: "--grace-period takes seconds from 0 to 3600, not '\(text)'")
                }
                gracePeriodSeconds = seconds
            case "--max-connections":
                configuration.http.maxConnections = try ServeOptions.count(try value(), flag: flag, in: 1...1_000_000)
            case "--max-connections-per-address":
                configuration.http.maxConnectionsPerAddress = try ServeOptions.count(
                    try value(), flag: flag, in: 1...1_000_000)
            case "--manifests":
                configuration.manifestsDirectory = try value()
            case "--data":
                configuration.dataDirectory = try value()
            case "--bench-route":
                configuration.benchmarkRoute = true
            default:
                throw UsageError(message: "unknown option '\(flag)'")
            }
        }
    }

    static func count(_ text: String, flag: String, in range: ClosedRange<Int>) throws(UsageError) -> Int {
        guard let count = Int(text), range.contains(count) else {
            throw UsageError(
                message: "\(flag) takes a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return count
    }

    static func address(_ text: String, flag: String) throws(UsageError) -> SocketAddress {
        do {
            return try SocketAddress(parsing: text)
        } catch {
            throw UsageError(
                message: "\(flag) takes HOST:PORT with a numeric host (127.0.0.1:8080, [::1]:8080), not '\(text)'")
        }
    }
}
