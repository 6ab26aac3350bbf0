import CCurl
import Foundation
import Synchronization

/// One libcurl multi handle, owned by one thread.
///
/// ```
///  callers ──submit(.add / .cancel / .stop)──► command queue ──curl_multi_wakeup──┐
///                                                                                  ▼
///  engine thread: drain commands ─► curl_multi_perform ─► info_read(DONE) ─► finish ─► curl_multi_poll
/// ```
///
/// libcurl requires every call on a multi handle (and its easy handles) to come from one thread;
/// `curl_multi_wakeup` is the one thread-safe exception and is how other threads get its
/// attention. Finished transfers are found through CURLOPT_PRIVATE.
final class CurlEngine: @unchecked Sendable {
    // @unchecked: `multi` and `active` are used only on the engine thread; `commands` is a Mutex.

    enum Command {
        case add(CurlTransfer)
        case cancel(CurlTransfer)
        case stop
    }

    /// curl_global_init runs once, before any thread uses libcurl (it is not thread-safe).
    private static let globalInit: CURLcode = curl_global_init(3)  // CURL_GLOBAL_ALL (SSL | WIN32)

    private let multi: UnsafeMutableRawPointer
    private let configuration: HTTPClient.Configuration
    private let commands = Mutex<[Command]>([])
    private var active: [UInt64: CurlTransfer] = [:]
    /// Easy handles of finished transfers, reset and kept for reuse: creating one per request
    /// costs far more than `curl_easy_reset`, which keeps the DNS and TLS session caches.
    private var idleHandles: [UnsafeMutableRawPointer] = []
    private static let maxIdleHandles = 256
    private let stopped = DispatchSemaphore(value: 0)
    private let inFlight = Atomic<Int>(0)

    init(configuration: HTTPClient.Configuration) throws(CurlError) {
        let initCode = CurlEngine.globalInit
        guard initCode == CURLE_OK else {
            throw CurlError(kind: .other, code: Int(initCode.rawValue), message: "curl_global_init failed")
        }
        guard let multi = curl_multi_init() else {
            throw CurlError(kind: .other, message: "curl_multi_init failed")
        }
        let settings: [(CURLMoption, Int)] = [
            (CURLMOPT_MAX_HOST_CONNECTIONS, configuration.maxConnectionsPerHost),
            (CURLMOPT_MAX_TOTAL_CONNECTIONS, configuration.maxTotalConnections),
            (CURLMOPT_MAXCONNECTS, configuration.maxCachedConnections),
            (CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX),
        ]
        for (option, value) in settings {
            let code = citygate_multi_setopt_long(multi, option, value)
            guard code == CURLM_OK else {
                curl_multi_cleanup(multi)
                throw CurlError(
                    kind: .other, code: Int(code.rawValue), message: String(cString: curl_multi_strerror(code)))
            }
        }
        self.multi = multi
        self.configuration = configuration
        let thread = Thread { [self] in run() }
        thread.name = "citygate-curl"
        thread.start()
    }

    /// Transfers added and not yet finished.
    var inFlightCount: Int { inFlight.load(ordering: .relaxed) }

    func submit(_ command: Command) {
        let wasEmpty = commands.withLock { queue in
            let wasEmpty = queue.isEmpty
            queue.append(command)
            return wasEmpty
        }
        // One wake-up per batch: a non-empty queue means a wake-up is already on its way.
        // Thread-safe by libcurl's contract; a failure only means the handle is being cleaned up.
        if wasEmpty { _ = curl_multi_wakeup(multi) }
    }

    /// Stops the thread; transfers still running fail with `.cancelled`. Waits for the thread.
    func stop() {
        submit(.stop)
        stopped.wait()
    }

    private func run() {
        var running: Int32 = 0
        var queued: Int32 = 0
        while true {
            let batch = commands.withLock { queue -> [Command] in
                let batch = queue
                queue.removeAll(keepingCapacity: true)
                return batch
            }
            for command in batch {
                switch command {
                case .add(let transfer): add(transfer)
                case .cancel(let transfer): remove(transfer, finishingWith: .failure(Self.cancelledError))
                case .stop:
                    for transfer in Array(active.values) {
                        remove(
                            transfer, finishingWith: .failure(CurlError(kind: .cancelled, message: "client shut down")))
                    }
                    curl_multi_cleanup(multi)
                    for handle in idleHandles { curl_easy_cleanup(handle) }
                    idleHandles.removeAll()
                    stopped.signal()
                    return
                }
            }
            _ = curl_multi_perform(multi, &running)
            while let message = curl_multi_info_read(multi, &queued) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                var user: UnsafeMutableRawPointer?
                guard citygate_easy_getinfo_private(easy, &user) == CURLE_OK, let user else { continue }
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue()
                let code = citygate_message_result(message)
                remove(transfer, finishingWith: transfer.result(for: code))
            }
            _ = curl_multi_poll(multi, nil, 0, 1000, nil)
        }
    }

    /// Resets a handle (dropping every option, including pointers into the finished transfer)
    /// and keeps it for the next transfer.
    private func recycle(_ easy: UnsafeMutableRawPointer) {
        curl_easy_reset(easy)
        if idleHandles.count < CurlEngine.maxIdleHandles {
            idleHandles.append(easy)
        } else {
            curl_easy_cleanup(easy)
        }
    }

    static let cancelledError = CurlError(kind: .cancelled, message: "the caller cancelled the request")

    private func add(_ transfer: CurlTransfer) {
        inFlight.add(1, ordering: .relaxed)
        if transfer.cancelled.load(ordering: .acquiring) {
            inFlight.subtract(1, ordering: .relaxed)
            transfer.finish(.failure(Self.cancelledError))
            return
        }
        let user = Unmanaged.passRetained(transfer)
        do {
            guard let easy = idleHandles.popLast() ?? curl_easy_init() else {
                throw CurlError(kind: .other, message: "curl_easy_init failed")
            }
            transfer.easy = easy
            try transfer.prepare(configuration: configuration, user: user.toOpaque())
            let code = curl_multi_add_handle(multi, easy)
            guard code == CURLM_OK else {
                throw CurlError(
                    kind: .other, code: Int(code.rawValue), message: String(cString: curl_multi_strerror(code)))
            }
            active[transfer.id] = transfer
        } catch {
            if let easy = transfer.easy {
                transfer.easy = nil
                recycle(easy)
            }
            user.release()
            inFlight.subtract(1, ordering: .relaxed)
            transfer.finish(.failure(error as? CurlError ?? CurlError(kind: .other, message: "\(error)")))
        }
    }

    /// Removes a registered transfer (a no-op if it already finished) and resumes its caller.
    private func remove(_ transfer: CurlTransfer, finishingWith result: Result<ClientResponse, CurlError>) {
        guard active.removeValue(forKey: transfer.id) != nil else { return }
        if let easy = transfer.easy {
            _ = curl_multi_remove_handle(multi, easy)
            transfer.easy = nil
            recycle(easy)
        }
        inFlight.subtract(1, ordering: .relaxed)
        transfer.finish(result)
        Unmanaged.passUnretained(transfer).release()
    }
}
