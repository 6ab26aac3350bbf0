/// An incremental HTTP/1.1 request parser (RFC 9112): a pure value with no I/O.
///
/// Feed it bytes as they arrive with ``append(_:)`` and pull events with ``next()``:
///
/// ```
///   bytes ─► append ─► next() ─► nil                       (needs more bytes)
///                              ├► .head(RequestHead)        (content follows; 100-continue point)
///                              └► .request(Request)         (complete; parsing resumes after it)
/// ```
///
/// `.head` is emitted only for requests that carry content, so a server can answer
/// `Expect: 100-continue` before the content arrives. Pipelined requests are parsed one after the
/// other from the same buffer. The first error is final: every later call throws it again, and
/// nothing after the faulty bytes is ever parsed, so a smuggled request cannot surface.
public struct RequestParser: Sendable {
    /// Limits on what one request may contain. Each has a named default.
    public struct Configuration: Sendable {
        /// Longest request line, without its CRLF (414 past it). Default 8 KiB.
        public var maxRequestLineLength: Int
        /// Largest header section in bytes, field lines and CRLFs included (431 past it). Trailer
        /// fields count against the same budget. Default 32 KiB.
        public var maxHeaderSectionBytes: Int
        /// Most header fields (431 past it). Default 100.
        public var maxHeaderFields: Int
        /// Largest content in bytes after de-chunking (413 past it). Default 1 MiB.
        public var maxBodyBytes: Int
        /// Longest chunk-size line, extensions included (400 past it). Default 4 KiB.
        public var maxChunkLineLength: Int
        /// Most empty lines tolerated before a request line (RFC 9112 §2.2). Default 4.
        public var maxLeadingEmptyLines: Int

        /// Creates a configuration; every argument defaults to the documented value.
        public init(
            maxRequestLineLength: Int = 8 * 1024,
            maxHeaderSectionBytes: Int = 32 * 1024,
            maxHeaderFields: Int = 100,
            maxBodyBytes: Int = 1024 * 1024,
            maxChunkLineLength: Int = 4 * 1024,
            maxLeadingEmptyLines: Int = 4
        ) {
            self.maxRequestLineLength = maxRequestLineLength
            self.maxHeaderSectionBytes = maxHeaderSectionBytes
            self.maxHeaderFields = maxHeaderFields
            self.maxBodyBytes = maxBodyBytes
            self.maxChunkLineLength = maxChunkLineLength
            self.maxLeadingEmptyLines = maxLeadingEmptyLines
        }
    }

    /// What the parser found.
    public enum Event: Sendable {
        /// A head whose content is still to come.
        case head(RequestHead)
        /// A complete request.
        case request(Request)
    }

    enum State: Sendable {
        case requestLine
        case headerFields
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailerFields
        case failed(HTTPParseError)
    }

    /// The limits in force.
    public let configuration: Configuration

    var buffer: [UInt8] = []
    var readIndex = 0
    /// Where the search for the current line's LF resumes, so a trickling client costs O(n).
    var scanIndex = 0
    var state: State = .requestLine
    var leadingEmptyLines = 0
    var sectionBytes = 0
    var requestLine: (method: String, target: String, version: Version)?
    var fields: [(name: String, value: String)] = []
    var trailerFields: [(name: String, value: String)] = []
    var pendingHead: RequestHead?
    var body: [UInt8] = []

    /// Creates a parser with the given limits.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Bytes received but not yet consumed (lines already parsed are consumed).
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Whether the parser is between requests with nothing buffered: the connection is idle.
    public var isIdle: Bool {
        if case .requestLine = state, readIndex == buffer.count { return true }
        return false
    }

    /// Whether the head of the current request has been parsed and its content is awaited.
    public var isReadingBody: Bool {
        switch state {
        case .fixedBody, .chunkSize, .chunkData, .chunkDataEnd, .trailerFields: true
        default: false
        }
    }

    /// Appends received bytes.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthIt()
        buffer.append(contentsOf: bytes)
    }

    /// Appends received bytes.
    public mutating func append(contentsOf bytes: some Sequence<UInt8>) {
        compactIfWorthIt()
        buffer.append(contentsOf: bytes)
    }

    /// The next event, or nil when more bytes are needed.
    public mutating func next() throws(HTTPParseError) -> Event? {
        do {
            return try step()
        } catch {
            state = .failed(error)
            throw error
        }
    }

    private mutating func step() throws(HTTPParseError) -> Event? {
        while true {
            switch state {
            case .failed(let error):
                throw error
            case .requestLine:
                guard let line = try nextLine(limit: configuration.maxRequestLineLength, tooLong: .requestLineTooLong)
                else { return nil }
                if line.isEmpty {
                    leadingEmptyLines += 1
                    if leadingEmptyLines > configuration.maxLeadingEmptyLines {
                        throw HTTPParseError(.invalidRequestLine)
                    }
                    continue
                }
                requestLine = try parseRequestLine(line)
                sectionBytes = 0
                state = .headerFields
            case .headerFields, .trailerFields:
                let remainingBudget = configuration.maxHeaderSectionBytes - sectionBytes
                guard let line = try nextLine(limit: remainingBudget - 2, tooLong: .headerSectionTooLarge)
                else { return nil }
                sectionBytes += line.count + 2
                if case .trailerFields = state {
                    if line.isEmpty { return .request(completeRequest()) }
                    let field = try parseFieldLine(line)
                    trailerFields.append(field)
                    if fields.count + trailerFields.count > configuration.maxHeaderFields {
                        throw HTTPParseError(.tooManyFields)
                    }
                    continue
                }
                if line.isEmpty {
                    let head = try finishHead()
                    switch head.framing {
                    case .none, .contentLength(0):
                        pendingHead = head
                        return .request(completeRequest())
                    case .contentLength(let length):
                        body.reserveCapacity(length)
                        state = .fixedBody(remaining: length)
                    case .chunked:
                        state = .chunkSize
                    }
                    pendingHead = head
                    return .head(head)
                }
                // One allocation for a typical head instead of growing 1, 2, 4, 8, 16.
                if fields.isEmpty { fields.reserveCapacity(16) }
                fields.append(try parseFieldLine(line))
                if fields.count > configuration.maxHeaderFields {
                    throw HTTPParseError(.tooManyFields)
                }
            case .fixedBody(let remaining):
                let take = min(remaining, buffer.count - readIndex)
                if take > 0 {
                    body.append(contentsOf: buffer[readIndex..<(readIndex + take)])
                    readIndex += take
                }
                if take == remaining { return .request(completeRequest()) }
                state = .fixedBody(remaining: remaining - take)
                return nil
            case .chunkSize:
                guard let line = try nextLine(limit: configuration.maxChunkLineLength, tooLong: .chunkLineTooLong)
                else { return nil }
                let size = try parseChunkSize(line)
                if size > UInt64(configuration.maxBodyBytes - body.count) {
                    throw HTTPParseError(.contentTooLarge)
                }
                state = size == 0 ? .trailerFields : .chunkData(remaining: Int(size))
            case .chunkData(let remaining):
                let take = min(remaining, buffer.count - readIndex)
                if take > 0 {
                    body.append(contentsOf: buffer[readIndex..<(readIndex + take)])
                    readIndex += take
                }
                if take < remaining {
                    state = .chunkData(remaining: remaining - take)
                    return nil
                }
                state = .chunkDataEnd
            case .chunkDataEnd:
                let available = buffer.count - readIndex
                if available == 0 { return nil }
                let first = buffer[readIndex]
                if first == .lineFeed { throw HTTPParseError(.bareLineFeed) }
                if first != .carriageReturn { throw HTTPParseError(.invalidChunkTerminator) }
                if available < 2 { return nil }
                if buffer[readIndex + 1] != .lineFeed { throw HTTPParseError(.bareCarriageReturn) }
                readIndex += 2
                scanIndex = readIndex
                state = .chunkSize
            }
        }
    }

    /// The next CRLF-terminated line without its terminator, as a range of `buffer`; nil when no
    /// complete line is buffered yet. Throws `tooLong` once the line exceeds `limit` bytes.
    private mutating func nextLine(limit: Int, tooLong: HTTPParseError.Kind) throws(HTTPParseError) -> Range<Int>? {
        let end = buffer.count
        var index = max(scanIndex, readIndex)
        let found: Int? = buffer.withUnsafeBufferPointer { bytes in
            while index < end {
                if bytes[index] == .lineFeed { return index }
                index += 1
            }
            return nil
        }
        guard let lineFeed = found else {
            scanIndex = end
            // The line so far, minus a CR that may be the first half of its CRLF.
            var length = end - readIndex
            if length > 0 && buffer[end - 1] == .carriageReturn { length -= 1 }
            if length > limit { throw HTTPParseError(tooLong) }
            return nil
        }
        let endsWithCR = lineFeed > readIndex && buffer[lineFeed - 1] == .carriageReturn
        // Length first, measured as in the incomplete case above, so the verdict never depends
        // on where the bytes were split into reads.
        if lineFeed - readIndex - (endsWithCR ? 1 : 0) > limit { throw HTTPParseError(tooLong) }
        guard endsWithCR else { throw HTTPParseError(.bareLineFeed) }
        let line = readIndex..<(lineFeed - 1)
        readIndex = lineFeed + 1
        scanIndex = readIndex
        return line
    }

    /// Builds the request, resets for the next one, and keeps any pipelined bytes.
    private mutating func completeRequest() -> Request {
        var head = pendingHead ?? RequestHead(method: "GET", target: "/")
        if head.framing == .contentLength(0) { head.framing = .none }
        let request = Request(head: head, body: body, trailers: Headers(trailerFields.map { ($0.name, $0.value) }))
        state = .requestLine
        requestLine = nil
        fields = []
        trailerFields = []
        pendingHead = nil
        body = []
        leadingEmptyLines = 0
        sectionBytes = 0
        return request
    }

    private mutating func compactIfWorthIt() {
        // Shifting costs a copy of what is left, so only do it once the dead prefix dominates.
        if readIndex > 0 && (readIndex == buffer.count || readIndex >= 4096 && readIndex * 2 >= buffer.count) {
            buffer.removeSubrange(0..<readIndex)
            scanIndex -= readIndex
            readIndex = 0
        }
    }
}

extension UInt8 {
    static let carriageReturn = UInt8(ascii: "\r")
    static let lineFeed = UInt8(ascii: "\n")
    static let space = UInt8(ascii: " ")
    static let horizontalTab = UInt8(ascii: "\t")
    static let colon = UInt8(ascii: ":")
}
