import EventLoops

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP endpoint parsed from `HOST:PORT` (`127.0.0.1:8080`, `[::1]:8080`, `0.0.0.0:0`).
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// The numeric host, without brackets.
    public var host: String
    /// The port; 0 asks the kernel for an ephemeral one.
    public var port: UInt16
    /// Whether `host` is an IPv6 address.
    public var isIPv6: Bool { host.contains(":") }

    /// Creates an address from a numeric host and a port.
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`; the host must be a numeric IPv4 or a bracketed IPv6 address.
    public init(parsing text: String) throws(SocketError) {
        let invalid = SocketError(call: "parse address", code: 0, context: text)
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw invalid }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw invalid }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw invalid }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { throw invalid }
        }
        guard !portPart.isEmpty, portPart.allSatisfy(\.isASCII), portPart.allSatisfy(\.isNumber),
            let port = UInt16(portPart)
        else { throw invalid }
        self.init(host: String(hostPart), port: port)
        // Validate the host by converting it once; only numeric hosts are accepted so binding
        // never depends on DNS.
        _ = try withSockAddr { _, _ in 0 }
    }

    /// `host:port`, with brackets for IPv6.
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Calls `body` with this address as a `sockaddr`.
    func withSockAddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(SocketError) -> T) throws(SocketError) -> T
    {
        if isIPv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else {
                throw SocketError(call: "parse address", code: 0, context: description)
            }
            return try withUnsafePointer(to: &address) { pointer throws(SocketError) in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { rebound throws(SocketError) in
                    try body(rebound, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw SocketError(call: "parse address", code: 0, context: description)
        }
        return try withUnsafePointer(to: &address) { pointer throws(SocketError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { rebound throws(SocketError) in
                try body(rebound, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }

    /// The local address a socket is bound to (after binding port 0, the real port).
    static func local(of fd: Int32) throws(SocketError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { pointer throws(SocketError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { rebound throws(SocketError) in
                try SystemCall.run("getsockname") { getsockname(fd, rebound, &length) }
            }
        }
        return try SocketAddress(storage: storage)
    }

    /// Converts a kernel address into a numeric host and port.
    init(storage: sockaddr_storage) throws(SocketError) {
        var storage = storage
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(storage.ss_family) {
        case AF_INET:
            let (address, port) = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { ($0.pointee.sin_addr, $0.pointee.sin_port) }
            }
            var copy = address
            guard inet_ntop(AF_INET, &copy, &text, socklen_t(text.count)) != nil else {
                throw SocketError(call: "inet_ntop", code: errno)
            }
            self.init(host: String(cString: text), port: UInt16(bigEndian: port))
        case AF_INET6:
            let (address, port) = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    ($0.pointee.sin6_addr, $0.pointee.sin6_port)
                }
            }
            var copy = address
            guard inet_ntop(AF_INET6, &copy, &text, socklen_t(text.count)) != nil else {
                throw SocketError(call: "inet_ntop", code: errno)
            }
            self.init(host: String(cString: text), port: UInt16(bigEndian: port))
        default:
            throw SocketError(call: "address family", code: EAFNOSUPPORT)
        }
    }
}
