import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP server on 127.0.0.1:0 that answers every connection with a script of raw writes, pauses
/// and closes: for the misbehaving backends a normal server cannot imitate (closing mid-body,
/// trickling, chunked answers).
public final class ScriptedTCPServer: Sendable {
    /// One step of the answer.
    public enum Step: Sendable {
        /// Write these bytes.
        case write(String)
        /// Pause.
        case sleep(milliseconds: Int)
        /// Close the connection (with a reset when `reset`).
        case close(reset: Bool)
    }

    /// The port.
    public let port: UInt16
    private let listener: Int32
    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }
    private let accepted = Counter()

    /// Starts accepting; each connection reads one request head, then runs `script`.
    public init(script: [Step]) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0, listen(fd, 128) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw RawClient.Failure(description: "scripted server: bind failed \(errno)") }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        let counter = accepted
        Thread.detachNewThread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 {
                    // Closed here, by the thread that uses it: closing it from stop() could let
                    // the number be reused by another listener before this accept() runs, and
                    // this thread would then steal that listener's connections.
                    close(fd)
                    return
                }
                counter.value.add(1, ordering: .relaxed)
                Thread.detachNewThread { ScriptedTCPServer.serve(client, script) }
            }
        }
    }

    /// Connections accepted so far.
    public var connectionCount: Int { accepted.value.load(ordering: .relaxed) }

    /// Stops accepting: wakes the accept thread, which closes the socket.
    public func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
    }

    private static func serve(_ fd: Int32, _ script: [Step]) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while RawClient.find([13, 10, 13, 10], in: received) == nil {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received.append(contentsOf: buffer[0..<count])
        }
        for step in script {
            switch step {
            case .write(let text):
                let bytes = Array(text.utf8)
                _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            case .sleep(let milliseconds):
                usleep(useconds_t(milliseconds * 1000))
            case .close(let reset):
                if reset {
                    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                    setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                }
                close(fd)
                return
            }
        }
        close(fd)
    }
}

extension RawClient {
    /// A port nothing listens on (bound, then released).
    public static func unusedPort() throws -> UInt16 {
        let server = try ScriptedTCPServer(script: [])
        server.stop()
        return server.port
    }
}
