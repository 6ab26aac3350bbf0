import COpenSSL
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A blocking TCP client that sends exact bytes: what a hostile or sloppy partner would send.
public final class RawClient: @unchecked Sendable {
    // @unchecked: a test helper used by one task at a time; `pending` is never shared.
    /// A client-side failure (connect, send, unexpected close).
    public struct Failure: Error, CustomStringConvertible {
        /// What went wrong.
        public let description: String
        /// Creates a failure.
        public init(description: String) { self.description = description }
    }

    /// A response read off the wire.
    public struct Response: Sendable {
        /// The status code.
        public let statusCode: Int
        /// Header fields in order.
        public let headers: [(String, String)]
        /// The content.
        public let body: [UInt8]
        /// The content as UTF-8 text.
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// The first value of a header field.
        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    /// The socket.
    public let fd: Int32
    private var pending: [UInt8] = []
    /// The TLS session when connected with `tls`.
    private let tls: TestTLSClient?

    /// The negotiated TLS version (`TLSv1.3`), nil in cleartext.
    public var tlsVersion: String? { tls?.version }
    /// The TLS session, nil in cleartext.
    public var tlsSession: TestTLSClient? { tls }

    /// Connects to 127.0.0.1:`port`, from `source` (another loopback address such as
    /// 127.0.0.2, to act as a second client machine) when given.
    public init(port: UInt16, receiveTimeout: Double = 5, source: String? = nil, tls: TestTLSClient.Options? = nil)
        throws
    {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        if let source {
            guard Self.withIPv4(source, port: 0, { bind(fd, $0, $1) }) == 0 else {
                Glibc.close(fd)
                throw Failure(description: "bind \(source): \(errno)")
            }
        }
        guard Self.withIPv4("127.0.0.1", port: port, { connect(fd, $0, $1) }) == 0 else {
            Glibc.close(fd)
            throw Failure(description: "connect: \(errno)")
        }
        var timeout = timeval(
            tv_sec: Int(receiveTimeout), tv_usec: Int((receiveTimeout - Double(Int(receiveTimeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if let tls {
            do { self.tls = try TestTLSClient(fd: fd, options: tls) } catch {
                Glibc.close(fd)
                throw error
            }
        } else {
            self.tls = nil
        }
    }

    deinit { Glibc.close(fd) }

    /// Sends from the socket or the TLS session; errno is set on failure.
    private func transmit(_ bytes: UnsafeRawBufferPointer) -> Int {
        if let tls { return tls.send(bytes) }
        return Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
    }

    /// Receives into `buffer`: the count, 0 at the peer's close, -1 with errno set.
    private func receive(_ buffer: UnsafeMutableRawBufferPointer) -> Int {
        if let tls { return tls.receive(buffer) }
        return recv(fd, buffer.baseAddress, buffer.count, 0)
    }

    /// Calls `body` with `host:port` as a `sockaddr` (IPv4) and its length.
    private static func withIPv4(
        _ host: String, port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32
    ) -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr(host)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// Sends text as UTF-8.
    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Sends bytes.
    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { transmit(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            guard sent > 0 else { throw Failure(description: "send: \(errno)") }
            offset += sent
        }
    }

    /// Reads until the peer closes; `closed` is false when the receive timeout hit first.
    public func readUntilClose() -> (bytes: [UInt8], closed: Bool) {
        var all = pending
        pending = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { receive($0) }
            if count > 0 {
                all.append(contentsOf: buffer[0..<count])
            } else if count == 0 {
                return (all, true)
            } else if errno == EINTR {
                continue
            } else if errno == ECONNRESET {
                return (all, true)
            } else {
                return (all, false)
            }
        }
    }

    /// Whether the peer has closed (reads until EOF or timeout, discarding data).
    public func isClosedByPeer() -> Bool { readUntilClose().closed }

    private func fill() throws {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { receive($0) }
        guard count > 0 else { throw Failure(description: count == 0 ? "closed by peer" : "recv: \(errno)") }
        pending.append(contentsOf: buffer[0..<count])
    }

    /// Reads one response framed by Content-Length (or none for 1xx/204/304 and HEAD).
    public func readResponse(isHead: Bool = false) throws -> Response {
        let terminator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        while headEnd == nil {
            if let index = Self.find(terminator, in: pending) { headEnd = index } else { try fill() }
        }
        guard let end = headEnd else { throw Failure(description: "no head") }
        let headText = String(decoding: pending[0..<end], as: UTF8.self)
        pending.removeFirst(end + 4)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let code = Int(parts[1]) else {
            throw Failure(description: "bad status line \(statusLine)")
        }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var length = 0
        if let value = headers.first(where: { $0.0.lowercased() == "content-length" })?.1, !isHead {
            length = Int(value) ?? 0
        }
        while pending.count < length { try fill() }
        let body = Array(pending[0..<length])
        pending.removeFirst(length)
        return Response(statusCode: code, headers: headers, body: body)
    }

    public static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<(start + needle.count)]) == needle { return start }
        }
        return nil
    }
}

extension RawClient {
    /// Parses every status code in a byte stream (for pipelined or concatenated responses).
    public static func statusCodes(in bytes: [UInt8]) -> [Int] {
        let text = String(decoding: bytes, as: UTF8.self)
        return text.components(separatedBy: "HTTP/1.1 ").dropFirst().compactMap { Int($0.prefix(3)) }
    }
}
