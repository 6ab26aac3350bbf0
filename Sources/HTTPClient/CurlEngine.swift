import CCurl
import EventLoops
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One libcurl multi handle, driven by one event loop through `curl_multi_socket_action`.
///
/// ```
///  caller on the loop ──add──────────────────────────────► curl_multi_add_handle
///  caller elsewhere ───loop.schedule { add } ─────────────►        │ timer callback (0 ms)
///                                                                   ▼
///  loop turn: socket ready ─► socket_action(fd, bits) ─┐   timer due ─► socket_action(TIMEOUT)
///                                                       ▼
///           info_read(DONE) ─► finish ─► continuation resumed (on this loop for callers here)
///  libcurl ─socket callback─► loop.watch / unwatch        ─timer callback─► dueAt
/// ```
///
/// libcurl requires every call on a multi handle (and its easy handles) to come from one
/// thread; here that is the loop's, which is also where request handlers run, so a backend call
/// made by a handler involves no thread hand-off at all. Only the sockets libcurl names as ready
/// are driven (no `poll` over every transfer, no read that would return EAGAIN). Finished
/// transfers are found through CURLOPT_PRIVATE.
final class CurlEngine: DescriptorWatcher, LoopTimer, @unchecked Sendable {
    // @unchecked: every mutable member is used only on `loop`'s thread; other threads reach the
    // engine only through `loop.schedule`.

    /// curl_global_init runs once, before any thread uses libcurl (it is not thread-safe).
    private static let globalInit: CURLcode = curl_global_init(3)  // CURL_GLOBAL_ALL (SSL | WIN32)

    /// The loop that drives this engine.
    let loop: EventLoop
    private let multi: UnsafeMutableRawPointer
    private let configuration: HTTPClient.Configuration
    private var active: [UInt64: CurlTransfer] = [:]
    /// Easy handles of finished transfers, kept for reuse: creating one per request costs far
    /// more, and a kept handle keeps its DNS and TLS session caches. Each remembers the TLS
    /// options its fixed options were set for (nil: reset, nothing set), so a handle reused for
    /// the same kind of request skips both `curl_easy_reset` and setting those options again.
    private var idleHandles: [(easy: UnsafeMutableRawPointer, tls: TLSOptions?)] = []
    private static let maxIdleHandles = 256
    /// Options that point into a transfer (cleared when its handle is kept).
    private static let transferPointers = [
        CURLOPT_ERRORBUFFER, CURLOPT_HTTPHEADER, CURLOPT_PRIVATE, CURLOPT_WRITEDATA, CURLOPT_HEADERDATA,
    ]
    private let inFlight: Atomic<Int>
    private var stopped = false
    /// libcurl's timer, in the loop's clock.
    private(set) var dueAt: UInt64?
    /// What each socket is registered for in the loop's epoll set (absent: not registered).
    private var watched: [Int32: Interest] = [:]
    /// Connection sockets this engine opened (CURLOPT_OPENSOCKETFUNCTION) and so sees closed.
    private var owned: Set<Int32> = []

    /// A socket's registration. `parked`: libcurl stopped asking about it (an idle connection
    /// back in its cache) but it stays registered, because the next request on the connection
    /// usually asks for the same interest again: two `epoll_ctl` calls per request saved.
    /// Only sockets in `owned` are parked: their close goes through `socketClosing`, so a parked
    /// registration never outlives its descriptor.
    private struct Interest: Equatable {
        var readable: Bool
        var writable: Bool
        var parked = false
    }

    /// Creates the multi handle on the caller's thread (no other thread uses it yet) and attaches
    /// the engine to `loop`. `connectionsPerHost` and `totalConnections` are this engine's share
    /// of the client's limits.
    init(
        loop: EventLoop, configuration: HTTPClient.Configuration, connectionsPerHost: Int, totalConnections: Int,
        cachedConnections: Int
    ) throws(CurlError) {
        let initCode = CurlEngine.globalInit
        guard initCode == CURLE_OK else {
            throw CurlError(kind: .other, code: Int(initCode.rawValue), message: "curl_global_init failed")
        }
        guard let multi = curl_multi_init() else {
            throw CurlError(kind: .other, message: "curl_multi_init failed")
        }
        let settings: [(CURLMoption, Int)] = [
            (CURLMOPT_MAX_HOST_CONNECTIONS, connectionsPerHost),
            (CURLMOPT_MAX_TOTAL_CONNECTIONS, totalConnections),
            (CURLMOPT_MAXCONNECTS, cachedConnections),
            (CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX),
        ]
        var codes = settings.map { citygate_multi_setopt_long(multi, $0.0, $0.1) }
        codes.append(citygate_multi_setopt_socket_callback(multi, curlSocketCallback))
        codes.append(citygate_multi_setopt_timer_callback(multi, curlTimerCallback))
        if let failed = codes.first(where: { $0 != CURLM_OK }) {
            curl_multi_cleanup(multi)
            throw CurlError(
                kind: .other, code: Int(failed.rawValue), message: String(cString: curl_multi_strerror(failed)))
        }
        self.loop = loop
        self.multi = multi
        self.configuration = configuration
        self.inFlight = Atomic(0)
        // The callbacks find the engine through these pointers, unretained: the client keeps
        // every engine alive until `stop` has cleaned the multi handle up.
        let user = Unmanaged.passUnretained(self).toOpaque()
        let pointerCodes = [
            citygate_multi_setopt_pointer(multi, CURLMOPT_SOCKETDATA, user),
            citygate_multi_setopt_pointer(multi, CURLMOPT_TIMERDATA, user),
        ]
        if let failed = pointerCodes.first(where: { $0 != CURLM_OK }) {
            curl_multi_cleanup(multi)
            throw CurlError(
                kind: .other, code: Int(failed.rawValue), message: String(cString: curl_multi_strerror(failed)))
        }
        loop.schedule { [self] in loop.addTimer(self) }
    }

    /// Transfers added and not yet finished.
    var inFlightCount: Int { inFlight.load(ordering: .relaxed) }

    // MARK: Loop-thread entry points

    /// Starts a transfer. Loop thread only, never from inside a libcurl callback.
    func add(_ transfer: CurlTransfer) {
        if stopped {
            transfer.finish(.failure(CurlError(kind: .cancelled, message: "client shut down")))
            return
        }
        if transfer.cancelled.load(ordering: .acquiring) {
            transfer.finish(.failure(Self.cancelledError))
            return
        }
        inFlight.add(1, ordering: .relaxed)
        let user = Unmanaged.passRetained(transfer)
        do {
            let reused = idleHandles.popLast()
            guard let easy = reused?.easy ?? curl_easy_init() else {
                throw CurlError(kind: .other, message: "curl_easy_init failed")
            }
            transfer.easy = easy
            let fixedOptionsSet = reused?.tls == transfer.request.tls
            if let configuredFor = reused?.tls, configuredFor != transfer.request.tls {
                // Set up for other TLS options: start from libcurl's defaults, not theirs.
                curl_easy_reset(easy)
            }
            try transfer.prepare(configuration: configuration, user: user.toOpaque(), fixedOptionsSet: fixedOptionsSet)
            if !fixedOptionsSet { try watchSockets(of: easy) }
            let code = curl_multi_add_handle(multi, easy)
            guard code == CURLM_OK else {
                throw CurlError(
                    kind: .other, code: Int(code.rawValue), message: String(cString: curl_multi_strerror(code)))
            }
            active[transfer.id] = transfer
        } catch {
            if let easy = transfer.easy {
                transfer.easy = nil
                // Options half set: nothing about this handle can be assumed.
                recycle(easy, configuredFor: nil)
            }
            user.release()
            inFlight.subtract(1, ordering: .relaxed)
            transfer.finish(.failure(error as? CurlError ?? CurlError(kind: .other, message: "\(error)")))
        }
    }

    /// Removes a transfer at its caller's request (a no-op if it already finished).
    func cancel(_ transfer: CurlTransfer) {
        remove(transfer, finishingWith: .failure(Self.cancelledError))
    }

    /// Fails every running transfer and releases libcurl's handles. Loop thread only.
    func stop() {
        guard !stopped else { return }
        stopped = true
        for transfer in Array(active.values) {
            remove(transfer, finishingWith: .failure(CurlError(kind: .cancelled, message: "client shut down")))
        }
        loop.removeTimer(self)
        dueAt = nil
        curl_multi_cleanup(multi)
        loop.unwatchAll(by: self)
        for handle in idleHandles { curl_easy_cleanup(handle.easy) }
        idleHandles.removeAll()
    }

    /// A socket libcurl asked about is ready.
    func descriptorReady(_ fd: Int32, events: DescriptorEvents) {
        guard !stopped else { return }
        if watched[fd]?.parked == true {
            // An idle connection stirred (the backend closed it, most likely): stop watching;
            // libcurl finds it dead when it next looks and asks again if it reuses it.
            loop.unwatch(fd)
            watched[fd] = nil
            return
        }
        var bits: Int32 = 0
        if events.readable { bits |= citygate_cselect_in }
        if events.writable { bits |= citygate_cselect_out }
        if events.failed { bits |= citygate_cselect_err }
        var running: Int32 = 0
        _ = curl_multi_socket_action(multi, fd, bits, &running)
        collectFinished()
    }

    /// libcurl's timer expired.
    func fire() {
        guard !stopped else { return }
        // One-shot: libcurl sets the next deadline through the timer callback if it wants one.
        dueAt = nil
        var running: Int32 = 0
        _ = curl_multi_socket_action(multi, citygate_socket_timeout, 0, &running)
        collectFinished()
    }

    // MARK: libcurl callbacks (loop thread, inside socket_action / add_handle)

    /// CURLMOPT_SOCKETFUNCTION: what libcurl wants to hear about `fd`.
    func socketChanged(_ fd: Int32, what: Int32) {
        if what == citygate_poll_remove {
            if owned.contains(fd), watched[fd] != nil {
                watched[fd]?.parked = true
            } else {
                // Not ours to see closed (the resolver's socket pair): forget it now.
                loop.unwatch(fd)
                watched[fd] = nil
            }
            return
        }
        let wanted = Interest(
            readable: what == citygate_poll_in || what == citygate_poll_inout,
            writable: what == citygate_poll_out || what == citygate_poll_inout)
        if var current = watched[fd], current.readable == wanted.readable, current.writable == wanted.writable {
            current.parked = false
            watched[fd] = current
            return
        }
        let error = loop.watch(fd, readable: wanted.readable, writable: wanted.writable, by: self)
        if error != 0 {
            // Not watched means never driven; the transfer's own timeout then ends it.
            Log.error("epoll_ctl for a backend socket failed", ["errno": "\(error)"])
            watched[fd] = nil
            return
        }
        watched[fd] = wanted
    }

    /// CURLOPT_OPENSOCKETFUNCTION: opens a connection socket the way libcurl would, noting it.
    func socketOpening(_ address: UnsafeMutablePointer<curl_sockaddr>) -> Int32 {
        let fd = citygate_open_socket(address)
        if fd >= 0 { owned.insert(fd) }
        return fd
    }

    /// CURLOPT_CLOSESOCKETFUNCTION: unregisters a connection socket, then closes it (in this
    /// order: once closed, its number may be reused at once).
    func socketClosing(_ fd: Int32) -> Int32 {
        if watched.removeValue(forKey: fd) != nil { loop.unwatch(fd) }
        owned.remove(fd)
        return Glibc.close(fd)
    }

    /// CURLMOPT_TIMERFUNCTION: libcurl's single timer moved (-1 deletes it).
    func timerChanged(milliseconds: Int) {
        dueAt = milliseconds < 0 ? nil : EventLoop.monotonicNanoseconds() + UInt64(milliseconds) * 1_000_000
    }

    // MARK: Internals

    static let cancelledError = CurlError(kind: .cancelled, message: "the caller cancelled the request")

    /// Routes the opening and closing of the handle's connection sockets through this engine.
    /// A connection keeps the callbacks of the handle that opened it, across handle resets.
    private func watchSockets(of easy: UnsafeMutableRawPointer) throws(CurlError) {
        let user = Unmanaged.passUnretained(self).toOpaque()
        let codes = [
            citygate_easy_setopt_open_socket(easy, curlOpenSocketCallback),
            citygate_easy_setopt_pointer(easy, CURLOPT_OPENSOCKETDATA, user),
            citygate_easy_setopt_close_socket(easy, curlCloseSocketCallback),
            citygate_easy_setopt_pointer(easy, CURLOPT_CLOSESOCKETDATA, user),
        ]
        if let failed = codes.first(where: { $0 != CURLE_OK }) {
            throw CurlError(
                kind: .other, code: Int(failed.rawValue), message: String(cString: curl_easy_strerror(failed)))
        }
    }

    private func collectFinished() {
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            var user: UnsafeMutableRawPointer?
            guard citygate_easy_getinfo_private(easy, &user) == CURLE_OK, let user else { continue }
            let transfer = Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue()
            let code = citygate_message_result(message)
            remove(transfer, finishingWith: transfer.result(for: code))
        }
    }

    /// Keeps a handle for the next transfer, its pointers into the finished one cleared (the
    /// error buffer and header list are freed with it). `configuredFor`: the TLS options its
    /// fixed options are set for; nil resets it.
    private func recycle(_ easy: UnsafeMutableRawPointer, configuredFor tls: TLSOptions?) {
        guard idleHandles.count < CurlEngine.maxIdleHandles else {
            curl_easy_cleanup(easy)
            return
        }
        let cleared =
            tls != nil && Self.transferPointers.allSatisfy { citygate_easy_setopt_pointer(easy, $0, nil) == CURLE_OK }
        if !cleared { curl_easy_reset(easy) }
        idleHandles.append((easy, cleared ? tls : nil))
    }

    /// Removes a registered transfer (a no-op if it already finished) and resumes its caller.
    private func remove(_ transfer: CurlTransfer, finishingWith result: Result<ClientResponse, CurlError>) {
        guard active.removeValue(forKey: transfer.id) != nil else { return }
        if let easy = transfer.easy {
            _ = curl_multi_remove_handle(multi, easy)
            transfer.easy = nil
            recycle(easy, configuredFor: transfer.request.tls)
        }
        inFlight.subtract(1, ordering: .relaxed)
        transfer.finish(result)
        Unmanaged.passUnretained(transfer).release()
    }
}

/// CURLMOPT_SOCKETFUNCTION trampoline.
private func curlSocketCallback(
    _ easy: UnsafeMutableRawPointer?, _ fd: curl_socket_t, _ what: Int32, _ user: UnsafeMutableRawPointer?,
    _ socketUser: UnsafeMutableRawPointer?
) -> Int32 {
    guard let user else { return -1 }
    Unmanaged<CurlEngine>.fromOpaque(user).takeUnretainedValue().socketChanged(fd, what: what)
    return 0
}

/// CURLMOPT_TIMERFUNCTION trampoline.
private func curlTimerCallback(_ multi: UnsafeMutableRawPointer?, _ milliseconds: Int, _ user: UnsafeMutableRawPointer?)
    -> Int32
{
    guard let user else { return -1 }
    Unmanaged<CurlEngine>.fromOpaque(user).takeUnretainedValue().timerChanged(milliseconds: milliseconds)
    return 0
}

/// CURLOPT_OPENSOCKETFUNCTION trampoline.
private func curlOpenSocketCallback(
    _ user: UnsafeMutableRawPointer?, _ purpose: curlsocktype, _ address: UnsafeMutablePointer<curl_sockaddr>?
) -> curl_socket_t {
    guard let user, let address else { return -1 }
    return Unmanaged<CurlEngine>.fromOpaque(user).takeUnretainedValue().socketOpening(address)
}

/// CURLOPT_CLOSESOCKETFUNCTION trampoline.
private func curlCloseSocketCallback(_ user: UnsafeMutableRawPointer?, _ fd: curl_socket_t) -> Int32 {
    guard let user else { return Glibc.close(fd) }
    return Unmanaged<CurlEngine>.fromOpaque(user).takeUnretainedValue().socketClosing(fd)
}
