#if canImport(Glibc)
    import Glibc
#endif

/// The outcome of a non-blocking I/O call.
package enum IOResult: Equatable {
    /// The call transferred this many bytes (0 on read means end of stream).
    case done(Int)
    /// The descriptor is not ready (EAGAIN/EWOULDBLOCK).
    case wouldBlock
}

/// The one place system calls are made from: retries EINTR, reports EAGAIN as would-block, and
/// throws every other failure with errno and the call's name.
package enum SystemCall {
    /// Runs a call that returns -1 and sets errno on failure; retries on EINTR.
    @inline(__always)
    package static func run(_ name: @autoclosure () -> String, _ body: () -> Int32) throws(SocketError) -> Int32 {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            throw SocketError(call: name(), code: code)
        }
    }

    /// Runs an I/O call returning a byte count; EAGAIN becomes `.wouldBlock`.
    @inline(__always)
    package static func io(_ name: @autoclosure () -> String, _ body: () -> Int) throws(SocketError) -> IOResult {
        while true {
            let result = body()
            if result >= 0 { return .done(result) }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
            throw SocketError(call: name(), code: code)
        }
    }

    /// Closes a descriptor. EINTR is not retried: on Linux the descriptor is gone either way.
    package static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }
}
