import Foundation

/// A Redis server's host and port.
public struct RedisAddress: Sendable, Equatable, CustomStringConvertible {
    /// A host name or IPv4 address.
    public let host: String
    /// The TCP port.
    public let port: Int32

    /// `host:port`.
    public init(host: String, port: Int32) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }
}

/// Where the client finds its server: one address, or the master Redis Sentinel names.
///
/// ```
///   redis://HOST:PORT                                   one server (port 6379 by default)
///   redis+sentinel://S1:PORT,S2:PORT,S3:PORT/MASTER     the master the sentinels name MASTER
///                                                       (sentinel port 26379 by default)
/// ```
public enum RedisEndpoint: Sendable, Equatable {
    /// One server, always this one.
    case direct(RedisAddress)
    /// Asks these sentinels which server is the master `master`, and follows a failover.
    case sentinel([RedisAddress], master: String)

    /// Parses a URL, or says what is wrong with it (never quoting it: it may carry a password).
    public static func parse(_ url: String) -> Result<RedisEndpoint, RedisClient.URLError> {
        let sentinelScheme = "redis+sentinel://"
        if url.hasPrefix(sentinelScheme) {
            let rest = url.dropFirst(sentinelScheme.count)
            guard let slash = rest.firstIndex(of: "/") else {
                return .failure(.init(description: "must be redis+sentinel://HOST:PORT[,HOST:PORT…]/MASTER-NAME"))
            }
            let master = String(rest[rest.index(after: slash)...])
            guard !master.isEmpty,
                master.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
            else {
                return .failure(.init(description: "the master name after the last / must be letters, digits, - _ ."))
            }
            var sentinels: [RedisAddress] = []
            for part in rest[..<slash].split(separator: ",", omittingEmptySubsequences: false) {
                guard let address = address(String(part), defaultPort: 26379) else {
                    return .failure(.init(description: "each sentinel must be HOST or HOST:PORT, separated by commas"))
                }
                sentinels.append(address)
            }
            return .success(.sentinel(sentinels, master: master))
        }
        guard url.hasPrefix("redis://"), let parsed = URL(string: url), let host = parsed.host, !host.isEmpty,
            parsed.user == nil, (parsed.path.isEmpty || parsed.path == "/")
        else {
            return .failure(.init(description: "must be redis://HOST:PORT or redis+sentinel://HOST:PORT,…/MASTER-NAME"))
        }
        return .success(.direct(RedisAddress(host: host, port: Int32(parsed.port ?? 6379))))
    }

    private static func address(_ text: String, defaultPort: Int32) -> RedisAddress? {
        let pieces = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(pieces.count), !pieces[0].isEmpty,
            pieces[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.".contains($0)) })
        else { return nil }
        guard pieces.count == 2 else { return RedisAddress(host: String(pieces[0]), port: defaultPort) }
        guard let port = Int32(pieces[1]), (1...65535).contains(port) else { return nil }
        return RedisAddress(host: String(pieces[0]), port: port)
    }
}
