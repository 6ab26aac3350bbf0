import CCurl
import HTTPCore
import Synchronization

/// One transfer: an easy handle, its request, what has arrived so far, and the continuation of
/// the task waiting for it.
///
/// Created on the caller's task, then handed to its engine's loop thread, which alone touches it
/// until it is finished (exactly once: done, cancelled, or engine stopped).
final class CurlTransfer: @unchecked Sendable {
    // @unchecked: after `CurlEngine.add` only the engine's loop thread reads or writes the mutable
    // state; `cancelled` is atomic because `onCancel` sets it from the cancelling thread.

    let id: UInt64
    let request: ClientRequest
    let deadline: ContinuousClock.Instant
    let maxResponseBytes: Int
    let cancelled = Atomic<Bool>(false)
    /// Unsafe rather than checked: the engine resumes it exactly once (see `finish`), and the
    /// checked variant costs an allocation per request on the hot path.
    var continuation: UnsafeContinuation<Result<ClientResponse, CurlError>, Never>?

    var easy: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    let errorBuffer: UnsafeMutablePointer<CChar>
    var body: [UInt8] = []
    var headers = Headers()
    var tooLarge = false

    init(id: UInt64, request: ClientRequest, deadline: ContinuousClock.Instant, maxResponseBytes: Int) {
        self.id = id
        self.request = request
        self.deadline = deadline
        self.maxResponseBytes = maxResponseBytes
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        self.errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        if let headerList { curl_slist_free_all(headerList) }
        // A handle still here was never registered (prepare failed before the engine took it
        // back); the engine recycles every registered one.
        if let easy { curl_easy_cleanup(easy) }
        errorBuffer.deallocate()
    }

    /// Resumes the waiting task; the engine guarantees a single call.
    func finish(_ result: Result<ClientResponse, CurlError>) {
        let waiting = continuation
        continuation = nil
        waiting?.resume(returning: result)
    }

    /// Configures `easy` for this request. `user` is this transfer, retained by the engine while
    /// the handle is registered. `fixedOptionsSet`: the handle already carries the options that
    /// depend only on the engine's configuration and this request's TLS options (a handle
    /// reused for the same backend), so only the per-request ones are set; otherwise `easy` is
    /// fresh or reset and gets every option.
    func prepare(configuration: HTTPClient.Configuration, user: UnsafeMutableRawPointer, fixedOptionsSet: Bool)
        throws(CurlError)
    {
        guard let easy else { throw CurlError(kind: .other, message: "no easy handle") }
        let remaining = ContinuousClock.now.duration(to: deadline)
        guard remaining > .zero else {
            throw CurlError(
                kind: .timeout, code: Int(CURLE_OPERATION_TIMEDOUT.rawValue), message: "deadline already passed")
        }
        // The first failing option code (not an array of every code: this runs per request).
        var failed = CURLE_OK
        func check(_ code: CURLcode) { if failed == CURLE_OK { failed = code } }
        func long(_ option: CURLoption, _ value: Int) { check(citygate_easy_setopt_long(easy, option, value)) }
        func string(_ option: CURLoption, _ value: String) { check(citygate_easy_setopt_string(easy, option, value)) }

        if !fixedOptionsSet {
            // Only HTTP(S): a manifest typo must not turn into file:// or gopher:// access.
            string(CURLOPT_PROTOCOLS_STR, "http,https")
            long(CURLOPT_NOSIGNAL, 1)
            // No proxy unless configured: citizens' data must not leave through a proxy because
            // an environment variable names one (and libcurl then skips reading the environment
            // for every request).
            string(CURLOPT_PROXY, "")
            long(CURLOPT_FOLLOWLOCATION, 0)
            long(CURLOPT_TCP_KEEPALIVE, 1)
            switch configuration.version {
            case .automatic: long(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS)
            case .http1: long(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1)
            case .http2PriorKnowledge: long(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE)
            }
            long(CURLOPT_SSL_VERIFYPEER, 1)
            long(CURLOPT_SSL_VERIFYHOST, 2)
            if let caFile = request.tls.caFile { string(CURLOPT_CAINFO, caFile) }
            if let caPath = request.tls.caPath { string(CURLOPT_CAPATH, caPath) }
            if let certificate = request.tls.clientCertificateFile { string(CURLOPT_SSLCERT, certificate) }
            if let key = request.tls.clientKeyFile { string(CURLOPT_SSLKEY, key) }
            check(citygate_easy_setopt_callback(easy, CURLOPT_WRITEFUNCTION, curlWriteBody))
            check(citygate_easy_setopt_callback(easy, CURLOPT_HEADERFUNCTION, curlWriteHeader))
        }
        if configuration.version == .http2PriorKnowledge {
            // libcurl before 8.0.0 fails every request after the first on a reused cleartext
            // HTTP/2 connection ("Error in the HTTP2 framing layer": it stacks a second HTTP/2
            // layer onto it; curl/curl#10634, fixed in 8.0.0). There, each such request gets a
            // connection of its own: slower, but every request answered.
            let ownConnection = !Self.reusesClearTextHTTP2 && request.isClearText
            long(CURLOPT_FRESH_CONNECT, ownConnection ? 1 : 0)
            long(CURLOPT_FORBID_REUSE, ownConnection ? 1 : 0)
        }
        string(CURLOPT_URL, request.url)
        long(CURLOPT_TIMEOUT_MS, remaining.milliseconds)
        long(CURLOPT_CONNECTTIMEOUT_MS, min(configuration.connectTimeout, remaining).milliseconds)
        check(citygate_easy_setopt_off_t(easy, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(maxResponseBytes)))

        // Every method option is set each time: a reused handle still carries the last request's.
        check(citygate_easy_setopt_pointer(easy, CURLOPT_CUSTOMREQUEST, nil))
        switch request.method {
        case "GET": long(CURLOPT_HTTPGET, 1)
        case "HEAD": long(CURLOPT_NOBODY, 1)
        default:
            long(CURLOPT_HTTPGET, 1)
            string(CURLOPT_CUSTOMREQUEST, request.method)
        }
        if request.method != "HEAD" { long(CURLOPT_NOBODY, 0) }
        let sendsBody =
            switch request.method {
            case "POST", "PUT", "PATCH": true
            default: !request.body.isEmpty
            }
        if sendsBody {
            long(CURLOPT_POST, 1)
            check(citygate_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
            // COPYPOSTFIELDS copies, so the bytes need not outlive this call.
            if !request.body.isEmpty {
                request.body.withUnsafeBytes { bytes in
                    if let pointer = bytes.baseAddress?.assumingMemoryBound(to: CChar.self) {
                        check(citygate_easy_setopt_string(easy, CURLOPT_COPYPOSTFIELDS, pointer))
                    }
                }
            } else {
                string(CURLOPT_COPYPOSTFIELDS, "")
            }
            if request.method != "POST" { string(CURLOPT_CUSTOMREQUEST, request.method) }
        }
        // Each line built in one reused buffer (curl_slist_append copies it). A NULL return
        // means libcurl could not allocate: the list built so far is freed, not leaked.
        var list: UnsafeMutablePointer<curl_slist>?
        var line: [UInt8] = []
        line.reserveCapacity(256)
        func append(_ name: String, _ value: String) -> Bool {
            line.removeAll(keepingCapacity: true)
            line.append(contentsOf: name.utf8)
            line.append(contentsOf: ": ".utf8)
            line.append(contentsOf: value.utf8)
            line.append(0)
            let appended = line.withUnsafeBufferPointer { bytes in
                bytes.baseAddress.flatMap {
                    curl_slist_append(list, UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
                }
            }
            guard let appended else { return false }
            list = appended
            return true
        }
        // A line break in a field would let whoever supplied the value add fields, or a whole
        // second request, to what the backend reads (libcurl writes the lines as they are).
        func breaksLines(_ text: String) -> Bool { text.utf8.contains { $0 == 0x0A || $0 == 0x0D || $0 == 0x00 } }
        for field in request.headers where breaksLines(field.name) || breaksLines(field.value) {
            throw CurlError(kind: .other, message: "header \(field.name.prefix(64)) contains a line break or NUL")
        }
        for field in request.headers where !append(field.name, field.value) {
            curl_slist_free_all(list)
            throw CurlError(
                kind: .other, code: Int(CURLE_OUT_OF_MEMORY.rawValue), message: "out of memory building headers")
        }
        // libcurl would otherwise add `Expect: 100-continue` to larger bodies and wait for it.
        guard let withExpect = curl_slist_append(list, "Expect:") else {
            curl_slist_free_all(list)
            throw CurlError(
                kind: .other, code: Int(CURLE_OUT_OF_MEMORY.rawValue), message: "out of memory building headers")
        }
        list = withExpect
        headerList = list
        check(citygate_easy_setopt_pointer(easy, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(list)))

        check(citygate_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer)))
        check(citygate_easy_setopt_pointer(easy, CURLOPT_PRIVATE, user))
        check(citygate_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, user))
        check(citygate_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, user))
        if failed != CURLE_OK {
            throw CurlError(
                kind: .other, code: Int(failed.rawValue), message: String(cString: curl_easy_strerror(failed)))
        }
    }

    /// Whether the libcurl in use reuses a cleartext HTTP/2 (prior knowledge) connection
    /// correctly: 8.0.0 and later do.
    static let reusesClearTextHTTP2: Bool = {
        // Any age has `version_num` (CURLVERSION_NOW is a macro Swift cannot import).
        guard let info = curl_version_info(CURLVERSION_FIRST) else { return false }
        return info.pointee.version_num >= 0x08_00_00
    }()

    /// Builds the result from the handle once libcurl reports the transfer done.
    func result(for code: CURLcode) -> Result<ClientResponse, CurlError> {
        guard code == CURLE_OK, let easy else {
            let detail = String(cString: errorBuffer)
            let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            let kind = CurlError.kind(for: code, tooLarge: tooLarge, message: message)
            return .failure(
                CurlError(
                    kind: kind, code: Int(code.rawValue),
                    message: kind == .tooLarge ? "response larger than \(maxResponseBytes) bytes" : message))
        }
        var status = 0
        _ = citygate_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        var version = 0
        _ = citygate_easy_getinfo_long(easy, CURLINFO_HTTP_VERSION, &version)
        var totalMicroseconds: curl_off_t = 0
        _ = citygate_easy_getinfo_off_t(easy, CURLINFO_TOTAL_TIME_T, &totalMicroseconds)
        let versionText: String =
            switch version {
            case CURL_HTTP_VERSION_1_0: "1.0"
            case CURL_HTTP_VERSION_2_0: "2"
            case CURL_HTTP_VERSION_3: "3"
            default: "1.1"
            }
        return .success(
            ClientResponse(
                status: status, headers: headers, body: body, httpVersion: versionText,
                totalSeconds: Double(totalMicroseconds) / 1_000_000))
    }
}

/// WRITEFUNCTION: appends a block of content, refusing past the size cap.
private func curlWriteBody(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?
) -> Int {
    guard let data, let user else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue()
    let length = size * count
    if transfer.body.count + length > transfer.maxResponseBytes {
        transfer.tooLarge = true
        return 0
    }
    transfer.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
    return length
}

/// HEADERFUNCTION: one complete header line per call; a status line starts a new response (so
/// interim 1xx responses are dropped and only the final one's fields remain), in wire order.
/// Works on bytes: only the name and the trimmed value become Strings.
private func curlWriteHeader(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?
) -> Int {
    guard let data, let user else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue()
    let length = size * count
    let line = UnsafeRawBufferPointer(start: data, count: length)
    if length >= 5 && line[0] == UInt8(ascii: "H") && line[1] == UInt8(ascii: "T") && line[4] == UInt8(ascii: "/") {
        transfer.headers = Headers()
        // One allocation for a typical response's fields instead of growing 1, 2, 4, 8.
        transfer.headers.reserveCapacity(12)
        return length
    }
    guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else { return length }
    var start = colon + 1
    var end = length
    func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
    while start < end && isSpace(line[start]) { start += 1 }
    while end > start && isSpace(line[end - 1]) { end -= 1 }
    transfer.headers.add(
        name: String(decoding: UnsafeRawBufferPointer(rebasing: line[0..<colon]), as: UTF8.self),
        value: String(decoding: UnsafeRawBufferPointer(rebasing: line[start..<end]), as: UTF8.self))
    return length
}
