import CSystemLinux
import EventLoops

#if canImport(Glibc)
    import Glibc
#endif

/// A non-blocking listening TCP socket.
///
/// One socket per listener, shared by every event loop with `EPOLLEXCLUSIVE`, rather than one
/// `SO_REUSEPORT` socket per loop: a second gateway started on a port that is already in use
/// must fail with EADDRINUSE instead of silently sharing the traffic.
final class ListeningSocket: Sendable {
    /// The descriptor.
    let fd: Int32
    /// The address actually bound (the kernel's port when 0 was asked for).
    let address: SocketAddress

    /// Creates, binds and listens.
    init(address requested: SocketAddress, backlog: Int32) throws(SocketError) {
        let family = requested.isIPv6 ? AF_INET6 : AF_INET
        let fd = try SystemCall.run("socket") { citygate_stream_socket(family) }
        do throws(SocketError) {
            var on: Int32 = 1
            _ = try SystemCall.run("setsockopt(SO_REUSEADDR)") {
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            }
            try requested.withSockAddr { pointer, length throws(SocketError) in
                do throws(SocketError) {
                    _ = try SystemCall.run("bind") { bind(fd, pointer, length) }
                } catch {
                    throw SocketError(call: "bind", code: error.code, context: requested.description)
                }
            }
            _ = try SystemCall.run("listen") { listen(fd, backlog) }
            self.address = try SocketAddress.local(of: fd)
            self.fd = fd
        } catch {
            SystemCall.close(fd)
            throw error
        }
    }

    /// Stops accepting by closing the descriptor (after it has been removed from every loop).
    func close() {
        SystemCall.close(fd)
    }
}
