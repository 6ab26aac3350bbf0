import CSystemLinux
import EventLoops
import HTTPCore
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The life of a connection on its loop: accept, read, parse, dispatch, write, close.
extension ServerLoop {
    static let continueResponse = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    func startListening(_ core: ServerCore) throws(SocketError) {
        let events = citygate_epollin | citygate_epollexclusive
        _ = try SystemCall.run("epoll_ctl(ADD listener)") {
            citygate_epoll_add(loop.epollFD, core.listener.fd, events, core.token)
        }
        listeners[core.token] = core
    }

    func stopListening(_ core: ServerCore) {
        if listeners.removeValue(forKey: core.token) != nil {
            _ = citygate_epoll_remove(loop.epollFD, core.listener.fd)
        }
    }

    func acceptConnections(_ core: ServerCore) {
        for _ in 0..<64 {
            let fd = citygate_accept(core.listener.fd)
            if fd < 0 {
                switch errno {
                case EINTR, ECONNABORTED: continue
                case EAGAIN: return
                default:
                    // EMFILE and friends: keep serving the connections we have; epoll reports
                    // the listener again once descriptors free up.
                    Log.error("accept failed", ["errno": "\(errno)", "listener": core.listener.address.description])
                    return
                }
            }
            if core.draining.load(ordering: .relaxed) {
                SystemCall.close(fd)
                continue
            }
            let remote = (try? ServerLoop.peerAddress(of: fd)) ?? ""
            let host = ServerLoop.host(of: remote)
            guard core.admit(host: host) else {
                refuse(
                    fd, core, .tooManyConnections,
                    detail:
                        "This address has \(core.configuration.maxConnectionsPerAddress) connections open, the most allowed; reuse them."
                )
                continue
            }
            if core.openConnections.load(ordering: .relaxed) >= core.configuration.maxConnections {
                shed(core)
                if core.openConnections.load(ordering: .relaxed) >= core.configuration.maxConnections {
                    core.release(host: host)
                    refuse(fd, core, .serverBusy, detail: "The server is at its connection limit; retry shortly.")
                    continue
                }
            }
            var on: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            var session: TLSSession?
            if let tls = core.configuration.tls {
                guard let made = tls.makeSession(fd: fd) else {
                    Log.error("TLS session could not be created", ["listener": core.listener.address.description])
                    core.release(host: host)
                    SystemCall.close(fd)
                    continue
                }
                session = made
            }
            let id = nextConnectionID
            nextConnectionID += 1
            let events = citygate_epollin | citygate_epollout | citygate_epollrdhup | citygate_epollet
            guard citygate_epoll_add(loop.epollFD, fd, events, id) == 0 else {
                Log.error("epoll_ctl(ADD connection) failed", ["errno": "\(errno)"])
                core.release(host: host)
                SystemCall.close(fd)
                continue
            }
            core.openConnections.add(1, ordering: .relaxed)
            let connection = Connection(
                id: id, fd: fd, core: core, remoteAddress: remote, host: host, now: now, tls: session)
            connection.updateDeadline(now: now)
            connections[id] = connection
        }
    }

    func handle(_ events: UInt32, on connection: Connection) {
        if events & (citygate_epollin | citygate_epollrdhup | citygate_epollhup | citygate_epollerr) != 0 {
            connection.readable = true
        }
        if events & (citygate_epollout | citygate_epollerr | citygate_epollhup) != 0 {
            connection.writable = true
        }
        drive(connection)
    }

    /// Moves a connection forward as far as it can go without blocking.
    func drive(_ connection: Connection) {
        if connection.lingering {
            discardInput(connection)
            return
        }
        if connection.writable && connection.hasPendingOutput {
            guard flush(connection) else { return }
        }
        while !connection.hasPendingOutput {
            switch connection.machine.nextAction() {
            case .needMoreData:
                guard connection.canRead && connection.machine.wantsInput else { break }
                guard readOnce(connection) else { return }
                continue
            case .sendContinue:
                connection.outbound.append(contentsOf: ServerLoop.continueResponse)
                guard flush(connection) else { return }
                continue
            case .dispatch(let request):
                dispatch(request, on: connection)
            case .reject(let error):
                let problem = Problem.parseError(error, requestId: requestIds.next())
                var response = Response.problem(problem)
                response.headers.add(name: "X-Request-Id", value: problem.requestId)
                response.headers.add(name: "Date", value: date.current())
                connection.outbound.append(contentsOf: ResponseSerializer.serialize(response, keepAlive: false))
                guard flush(connection) else { return }
            case .close:
                if !connection.hasPendingOutput {
                    close(connection)
                    return
                }
            case .wait:
                break
            }
            break
        }
        if connection.machine.phase == .closing && !connection.hasPendingOutput {
            beginLingeringClose(connection)
            return
        }
        connection.updateDeadline(now: now)
    }

    /// Reads once into the loop's buffer. Returns false when the connection was closed.
    private func readOnce(_ connection: Connection) -> Bool {
        if let tls = connection.tls { return readOnce(connection, tls) }
        let result: IOResult
        do {
            result = try SystemCall.io("read") { Glibc.read(connection.fd, readBuffer.baseAddress, readBuffer.count) }
        } catch {
            close(connection)
            return false
        }
        switch result {
        case .wouldBlock:
            connection.readable = false
        case .done(0):
            connection.readable = false
            connection.machine.peerDidClose()
        case .done(let count):
            // A short read means the socket is drained; with EPOLLRDHUP registered, new data or
            // EOF raises a fresh edge, so the extra read that would return EAGAIN is skipped.
            if count < readBuffer.count { connection.readable = false }
            connection.machine.received(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count]))
            connection.lastActivityAt = now
        }
        return true
    }

    /// One TLS read: unlike a socket read, a short one says nothing about what is left (a read
    /// returns one record at most), so only `wantRead` ends the readable edge.
    private func readOnce(_ connection: Connection, _ tls: TLSSession) -> Bool {
        let wasHandshaking = !tls.isEstablished
        switch tls.read(into: readBuffer) {
        case .done(let count):
            connection.machine.received(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count]))
            connection.lastActivityAt = now
        case .wantRead:
            connection.readable = false
            if wasHandshaking && tls.isEstablished { connection.lastActivityAt = now }
        case .wantWrite:
            connection.writable = false
        case .closed:
            connection.readable = false
            connection.machine.peerDidClose()
        case .failed:
            // A failed handshake (old protocol, no shared cipher, not TLS at all) or a corrupt
            // record: there is no channel left to answer on.
            close(connection)
            return false
        }
        return true
    }

    /// Writes pending output. Returns false when the connection was closed.
    @discardableResult
    func flush(_ connection: Connection) -> Bool {
        while connection.hasPendingOutput {
            if let tls = connection.tls {
                let outcome = connection.outbound.withUnsafeBytes { bytes in
                    tls.write(UnsafeRawBufferPointer(rebasing: bytes[connection.outboundSent...]))
                }
                switch outcome {
                case .done(let count):
                    connection.outboundSent += count
                    connection.lastWriteProgressAt = now
                    continue
                case .wantWrite:
                    connection.writable = false
                    connection.updateDeadline(now: now)
                    return true
                case .wantRead:
                    // Renegotiation is off; TLS 1.3 can still need input (a key update). The
                    // next readable edge drives the connection, which retries this write.
                    connection.updateDeadline(now: now)
                    return true
                case .closed, .failed:
                    close(connection)
                    return false
                }
            }
            let result: IOResult
            do {
                result = try connection.outbound.withUnsafeBytes { bytes throws(SocketError) in
                    let start = bytes.baseAddress.map { $0 + connection.outboundSent }
                    let length = bytes.count - connection.outboundSent
                    return try SystemCall.io("send") { send(connection.fd, start, length, Int32(MSG_NOSIGNAL)) }
                }
            } catch {
                close(connection)
                return false
            }
            switch result {
            case .wouldBlock:
                connection.writable = false
                connection.updateDeadline(now: now)
                return true
            case .done(let count):
                connection.outboundSent += count
                connection.lastWriteProgressAt = now
            }
        }
        connection.outbound.removeAll(keepingCapacity: connection.outbound.capacity <= 64 * 1024)
        connection.outboundSent = 0
        connection.lastActivityAt = now
        return true
    }

    private func dispatch(_ request: Request, on connection: Connection) {
        let context = RequestContext(
            requestId: requestIds.next(),
            remoteAddress: connection.remoteAddress,
            connectionId: connection.id,
            isSecure: connection.tls != nil,
            peerCertificate: connection.tls?.peerCertificate
        )
        let responder = connection.core.responder
        let connectionID = connection.id
        let isHead = request.method == "HEAD"
        Task(executorPreference: loop) {
            let response = await responder.respond(to: request, context: context)
            // The task prefers the loop, so it normally ends on the loop's thread: complete
            // there and then, rather than queueing one more closure for the loop's next turn.
            if self.loop.isCurrent {
                self.complete(connectionID, response: response, requestId: context.requestId, isHead: isHead)
            } else {
                self.loop.execute {
                    self.complete(connectionID, response: response, requestId: context.requestId, isHead: isHead)
                }
            }
        }
    }

    private func complete(_ connectionID: UInt64, response: Response, requestId: String, isHead: Bool) {
        // The connection may have been closed (timeout, reset, forced shutdown) meanwhile.
        guard let connection = connections[connectionID] else { return }
        let keepAlive = connection.machine.responded()
        connection.hasAnswered = true
        // The server's request id and date go straight into the bytes; the handler's header list
        // is not copied to add them.
        ResponseSerializer.serialize(
            response, keepAlive: keepAlive, isHeadRequest: isHead,
            extraFields: [(name: "X-Request-Id", value: requestId), (name: "Date", value: date.current())],
            into: &connection.outbound)
        connection.lastActivityAt = now
        drive(connection)
    }

    /// Output is complete: half-close and drain input so the peer reads our last response
    /// instead of a reset caused by unread bytes (RFC 9112 §9.6).
    private func beginLingeringClose(_ connection: Connection) {
        connection.tls?.close()
        guard shutdown(connection.fd, Int32(SHUT_WR)) == 0 else {
            close(connection)
            return
        }
        connection.lingering = true
        connection.deadline = now &+ connection.core.configuration.lingerTimeout.nanoseconds
        connection.readable = true
        discardInput(connection)
    }

    private func discardInput(_ connection: Connection) {
        while true {
            let count = Glibc.read(connection.fd, readBuffer.baseAddress, readBuffer.count)
            if count > 0 { continue }
            if count < 0 && (errno == EAGAIN || errno == EINTR) { return }
            close(connection)
            return
        }
    }

    func close(_ connection: Connection) {
        guard connections.removeValue(forKey: connection.id) != nil else { return }
        _ = citygate_epoll_remove(loop.epollFD, connection.fd)
        SystemCall.close(connection.fd)
        connection.core.openConnections.subtract(1, ordering: .relaxed)
        connection.core.release(host: connection.host)
    }

    func expireDeadlines() {
        let expired = connections.values.filter { $0.deadline <= now }
        for connection in expired {
            if connection.isHandshaking {
                close(connection)
                continue
            }
            if !connection.lingering && !connection.hasPendingOutput {
                switch connection.machine.phase {
                case .readingHead:
                    cutOff(
                        connection, .headerTimeout, detail: "The request header section did not arrive in time."
                    )
                    continue
                case .readingBody:
                    cutOff(connection, .bodyTimeout, detail: "The request body did not arrive in time.")
                    continue
                default:
                    break
                }
            }
            close(connection)
        }
    }

    /// Tells a client that is too slow (or shed at the connection cap) why, best effort, then
    /// closes its connection.
    private func cutOff(_ connection: Connection, _ type: ProblemType, detail: String) {
        if connection.isHandshaking {
            close(connection)
            return
        }
        let problem = Problem(type, detail: detail, requestId: requestIds.next())
        var response = Response.problem(problem)
        response.headers.add(name: "X-Request-Id", value: problem.requestId)
        response.headers.add(name: "Date", value: date.current())
        connection.outbound = ResponseSerializer.serialize(response, keepAlive: false)
        connection.outboundSent = 0
        connection.machine.abandon()
        guard flush(connection) else { return }
        // Input already received but not read would make the close a reset, and a reset can
        // destroy the answer before the client reads it: read it away first (a bounded number of
        // reads, so a client that keeps sending cannot hold the loop here).
        var reads = 0
        while reads < 16, Glibc.read(connection.fd, readBuffer.baseAddress, readBuffer.count) > 0 { reads += 1 }
        close(connection)
    }

    /// At the connection cap: closes this loop's oldest idle connections, then its slowest
    /// unfinished requests, a fiftieth of the cap at a time (so an accept storm scans the
    /// connections once per batch, not once per accept). Requests being handled or answered
    /// are never shed.
    private func shed(_ core: ServerCore) {
        let batch = max(1, core.configuration.maxConnections / 50)
        let victims = connections.values.filter { $0.core === core && $0.isSheddable }
            .sorted { $0.sheddingRank < $1.sheddingRank }
            .prefix(batch)
        for connection in victims {
            if connection.isKeptAliveIdle {
                close(connection)  // RFC 9112 §9.5: an idle persistent connection may be closed at any time
            } else {
                cutOff(
                    connection, .connectionShed,
                    detail: "The server is at its connection limit and closed the slowest unfinished requests.")
            }
        }
    }

    /// Answers a connection refused at accept with a problem (best effort, without blocking)
    /// and closes it. On a TLS listener it is only closed: no handshake is spent on a refusal.
    private func refuse(_ fd: Int32, _ core: ServerCore, _ type: ProblemType, detail: String) {
        if core.configuration.tls != nil {
            SystemCall.close(fd)
            return
        }
        let problem = Problem(type, detail: detail, requestId: requestIds.next())
        var response = Response.problem(problem)
        response.headers.add(name: "X-Request-Id", value: problem.requestId)
        response.headers.add(name: "Retry-After", value: "1")
        let bytes = ResponseSerializer.serialize(response, keepAlive: false)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        SystemCall.close(fd)
    }

    /// The IP part of `address:port` (`[v6]:port` keeps its brackets): the per-address key.
    static func host(of address: String) -> String {
        guard let colon = address.lastIndex(of: ":") else { return address }
        return String(address[..<colon])
    }

    /// Shutdown of one server on this loop: idle connections close now, busy ones finish with
    /// `Connection: close`; with `force`, everything closes.
    func drain(_ core: ServerCore, force: Bool) {
        stopListening(core)
        for connection in connections.values where connection.core === core {
            if force {
                close(connection)
                continue
            }
            connection.machine.startDraining()
            // A lingering connection has sent everything; it only waits for the peer's FIN.
            if connection.lingering || (connection.machine.phase == .idle && !connection.hasPendingOutput) {
                close(connection)
            }
        }
    }

    static func peerAddress(of fd: Int32) throws(SocketError) -> String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { pointer throws(SocketError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { rebound throws(SocketError) in
                try SystemCall.run("getpeername") { getpeername(fd, rebound, &length) }
            }
        }
        return try SocketAddress(storage: storage).description
    }
}
