import CSystemLinux
import EventLoops
import HTTPCore

/// The HTTP server's state on one event loop: the listeners registered there, the connections
/// accepted on it, and what serving them needs per loop (a read buffer, the cached `Date`, the
/// request-id generator). It is the loop's ``LoopSocketOwner``: the loop hands it the events of
/// its sockets and a sweep every 250 ms, and knows nothing else of HTTP.
///
/// Touched only on its loop's thread (`@unchecked Sendable` so a handler's task can hop back to
/// it through the loop).
final class ServerLoop: LoopSocketOwner, @unchecked Sendable {
    /// Connection tokens start here; listener tokens stay below.
    static let firstConnectionID: UInt64 = 1 << 32

    unowned let loop: EventLoop
    var connections: [UInt64: Connection] = [:]
    var listeners: [UInt64: ServerCore] = [:]
    var nextConnectionID = ServerLoop.firstConnectionID
    let readBuffer: UnsafeMutableRawBufferPointer
    var date = HTTPDate()
    var requestIds: RequestIdGenerator

    init(loop: EventLoop) {
        self.loop = loop
        self.requestIds = RequestIdGenerator(loopIndex: loop.index)
        self.readBuffer = .allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit {
        readBuffer.deallocate()
    }

    /// The loop's monotonic time at the start of this turn's work.
    var now: UInt64 { loop.now }

    func socketEvent(token: UInt64, events: UInt32) {
        if token < ServerLoop.firstConnectionID {
            if let core = listeners[token] { acceptConnections(core) }
        } else if let connection = connections[token] {
            handle(events, on: connection)
        }
    }

    func sweep() {
        expireDeadlines()
    }
}

extension EventLoop {
    /// This loop's server state, made the first time a server starts listening here. Loop
    /// thread only.
    var server: ServerLoop {
        if let owner = socketOwner as? ServerLoop { return owner }
        let server = ServerLoop(loop: self)
        socketOwner = server
        return server
    }
}
