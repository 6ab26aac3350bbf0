/// Line-level rules of RFC 9112: the request line (§3), field lines (§5), message framing
/// (§6.3) and chunk-size lines (§7.1). Each works on a range of the parser's buffer that holds
/// one line without its CRLF.
extension RequestParser {
    /// `method SP request-target SP HTTP-version` (RFC 9112 §3), single spaces only.
    func parseRequestLine(_ line: Range<Int>) throws(HTTPParseError) -> (
        method: String, target: String, version: Version
    ) {
        try buffer.withUnsafeBufferPointer { bytes throws(HTTPParseError) in
            var index = line.lowerBound
            while index < line.upperBound && ByteClass.isToken(bytes[index]) { index += 1 }
            let methodEnd = index
            guard methodEnd < line.upperBound, bytes[methodEnd] == .space else {
                if methodEnd < line.upperBound && bytes[methodEnd] == .carriageReturn {
                    throw HTTPParseError(.bareCarriageReturn)
                }
                throw HTTPParseError(
                    methodEnd == line.lowerBound || methodEnd == line.upperBound
                        ? .invalidRequestLine : .invalidMethod)
            }
            guard methodEnd > line.lowerBound else { throw HTTPParseError(.invalidRequestLine) }

            index = methodEnd + 1
            let targetStart = index
            while index < line.upperBound && bytes[index] != .space {
                let byte = bytes[index]
                if byte == .carriageReturn { throw HTTPParseError(.bareCarriageReturn) }
                guard ByteClass.requestTarget[Int(byte)] else { throw HTTPParseError(.invalidRequestTarget) }
                index += 1
            }
            let targetEnd = index
            guard targetEnd > targetStart, targetEnd < line.upperBound else {
                throw HTTPParseError(.invalidRequestLine)
            }
            let versionStart = targetEnd + 1
            let version = try parseVersion(bytes, versionStart..<line.upperBound)

            let method = String(
                decoding: UnsafeBufferPointer(rebasing: bytes[line.lowerBound..<methodEnd]), as: UTF8.self)
            let target = String(decoding: UnsafeBufferPointer(rebasing: bytes[targetStart..<targetEnd]), as: UTF8.self)
            try checkTargetForm(target, method: method)
            return (method, target, version)
        }
    }

    /// `HTTP/` DIGIT `.` DIGIT (RFC 9112 §2.3). Major 1 is served (a higher minor is treated as
    /// 1.1, RFC 9110 §2.5); any other well-formed major is 505.
    private func parseVersion(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) throws(HTTPParseError)
        -> Version
    {
        for index in range where bytes[index] == .space || bytes[index] == .carriageReturn {
            throw HTTPParseError(bytes[index] == .space ? .invalidRequestLine : .bareCarriageReturn)
        }
        let prefix: [UInt8] = Array("HTTP/".utf8)
        guard range.count == 8,
            zip(bytes[range.lowerBound..<(range.lowerBound + 5)], prefix).allSatisfy({ $0 == $1 })
        else { throw HTTPParseError(.invalidVersion) }
        let major = bytes[range.lowerBound + 5]
        let dot = bytes[range.lowerBound + 6]
        let minor = bytes[range.lowerBound + 7]
        let digits = UInt8(ascii: "0")...UInt8(ascii: "9")
        guard digits.contains(major), dot == UInt8(ascii: "."), digits.contains(minor) else {
            throw HTTPParseError(.invalidVersion)
        }
        guard major == UInt8(ascii: "1") else { throw HTTPParseError(.unsupportedVersion) }
        return minor == UInt8(ascii: "0") ? .http10 : .http11
    }

    /// origin-form for everything, absolute-form (http/https), asterisk-form for OPTIONS only and
    /// authority-form for CONNECT only (RFC 9112 §3.2).
    private func checkTargetForm(_ target: String, method: String) throws(HTTPParseError) {
        if target.hasPrefix("/") { return }
        if target == "*" {
            guard method == "OPTIONS" else { throw HTTPParseError(.invalidRequestTarget) }
            return
        }
        if method == "CONNECT" { return }
        let lowered = target.lowercased()
        for scheme in ["http://", "https://"] where lowered.hasPrefix(scheme) {
            let authority = lowered.dropFirst(scheme.count).prefix { $0 != "/" && $0 != "?" }
            guard !authority.isEmpty, !authority.contains("@") else {
                throw HTTPParseError(.invalidRequestTarget)
            }
            return
        }
        throw HTTPParseError(.invalidRequestTarget)
    }

    /// `field-name ":" OWS field-value OWS` (RFC 9112 §5), rejecting obs-fold, whitespace before
    /// the colon, bare CR and control characters.
    func parseFieldLine(_ line: Range<Int>) throws(HTTPParseError) -> (name: String, value: String) {
        try buffer.withUnsafeBufferPointer { bytes throws(HTTPParseError) in
            let first = bytes[line.lowerBound]
            if first == .space || first == .horizontalTab { throw HTTPParseError(.obsoleteLineFolding) }
            var index = line.lowerBound
            while index < line.upperBound && ByteClass.isToken(bytes[index]) { index += 1 }
            let nameEnd = index
            guard nameEnd < line.upperBound else { throw HTTPParseError(.invalidFieldName) }
            switch bytes[nameEnd] {
            case .colon:
                guard nameEnd > line.lowerBound else { throw HTTPParseError(.invalidFieldName) }
            case .space, .horizontalTab:
                var probe = nameEnd
                while probe < line.upperBound && (bytes[probe] == .space || bytes[probe] == .horizontalTab) {
                    probe += 1
                }
                let beforeColon = probe < line.upperBound && bytes[probe] == .colon
                throw HTTPParseError(beforeColon ? .whitespaceBeforeColon : .invalidFieldName)
            case .carriageReturn:
                throw HTTPParseError(.bareCarriageReturn)
            default:
                throw HTTPParseError(.invalidFieldName)
            }

            var valueStart = nameEnd + 1
            var valueEnd = line.upperBound
            while valueStart < valueEnd && (bytes[valueStart] == .space || bytes[valueStart] == .horizontalTab) {
                valueStart += 1
            }
            while valueEnd > valueStart && (bytes[valueEnd - 1] == .space || bytes[valueEnd - 1] == .horizontalTab) {
                valueEnd -= 1
            }
            for position in valueStart..<valueEnd where !ByteClass.fieldValue[Int(bytes[position])] {
                throw HTTPParseError(bytes[position] == .carriageReturn ? .bareCarriageReturn : .invalidFieldValue)
            }
            let name = String(decoding: UnsafeBufferPointer(rebasing: bytes[line.lowerBound..<nameEnd]), as: UTF8.self)
            let value = String(decoding: UnsafeBufferPointer(rebasing: bytes[valueStart..<valueEnd]), as: UTF8.self)
            return (name, value)
        }
    }

    /// The fields that decide how a request is read, gathered in one pass over the header section
    /// (names compared by length first: this runs for every request).
    struct FramingFields {
        var hostCount = 0
        var host: String?
        var contentLengths: [String] = []
        var transferEncodings: [String] = []
        var connections: [String] = []
        var expectations: [String] = []

        init(_ fields: [(name: String, value: String)]) {
            for field in fields {
                switch field.name.utf8.count {
                case 4 where Headers.equalNames(field.name, "host"):
                    hostCount += 1
                    if host == nil { host = field.value }
                case 6 where Headers.equalNames(field.name, "expect"): expectations.append(field.value)
                case 10 where Headers.equalNames(field.name, "connection"): connections.append(field.value)
                case 14 where Headers.equalNames(field.name, "content-length"): contentLengths.append(field.value)
                case 17 where Headers.equalNames(field.name, "transfer-encoding"): transferEncodings.append(field.value)
                default: break
                }
            }
        }
    }

    /// Checks the header section as a whole and decides framing, persistence and expectations.
    mutating func finishHead() throws(HTTPParseError) -> RequestHead {
        guard let requestLine else { throw HTTPParseError(.invalidRequestLine) }
        let framingFields = FramingFields(fields)
        let version = requestLine.version

        // Host (RFC 9112 §3.2): exactly one in HTTP/1.1, never more than one.
        if framingFields.hostCount > 1 { throw HTTPParseError(.repeatedHost) }
        if let host = framingFields.host {
            guard host.utf8.allSatisfy({ ByteClass.host[Int($0)] }) else { throw HTTPParseError(.invalidHost) }
        } else if version == .http11 {
            throw HTTPParseError(.missingHost)
        }

        let framing = try decideFraming(framingFields, version: version)

        // Persistence (RFC 9112 §9.3).
        var closeRequested = false
        var keepAliveRequested = false
        for value in framingFields.connections {
            for option in value.split(separator: ",") {
                let token = option.trimmingSpaces()
                if ByteClass.equalsIgnoringCase(token, "close") { closeRequested = true }
                if ByteClass.equalsIgnoringCase(token, "keep-alive") { keepAliveRequested = true }
            }
        }
        let keepAlive = !closeRequested && (version == .http11 || keepAliveRequested)

        // Expect (RFC 9110 §10.1.1): only 100-continue, and only meaningful in HTTP/1.1.
        var expectsContinue = false
        let expectations = framingFields.expectations
        if version == .http11 && !expectations.isEmpty {
            guard expectations.count == 1, ByteClass.equalsIgnoringCase(Substring(expectations[0]), "100-continue")
            else { throw HTTPParseError(.unsupportedExpectation) }
            expectsContinue = framing != .none && framing != .contentLength(0)
        }

        return RequestHead(
            method: requestLine.method,
            target: requestLine.target,
            version: version,
            headers: Headers(labelled: fields),
            keepAlive: keepAlive,
            expectsContinue: expectsContinue,
            framing: framing
        )
    }

    /// RFC 9112 §6.3, strictly: Transfer-Encoding and Content-Length together, repeated or
    /// malformed Content-Length, and any coding other than one final `chunked` are rejected.
    private func decideFraming(_ framingFields: FramingFields, version: Version) throws(HTTPParseError) -> BodyFraming {
        let transferEncodings = framingFields.transferEncodings
        let contentLengths = framingFields.contentLengths
        if !transferEncodings.isEmpty {
            if version == .http10 { throw HTTPParseError(.transferEncodingInHTTP10) }
            if !contentLengths.isEmpty { throw HTTPParseError(.contentLengthWithTransferEncoding) }
            var codings: [Substring] = []
            for value in transferEncodings {
                for element in value.split(separator: ",", omittingEmptySubsequences: false) {
                    // No parameters: `chunked` defines none, and `chunked;q=1` is a framing
                    // that other parsers on the path may read differently (a smuggling lever).
                    let name = element.trimmingSpaces()
                    guard !name.isEmpty, name.utf8.allSatisfy(ByteClass.isToken) else {
                        throw HTTPParseError(.invalidTransferEncoding)
                    }
                    codings.append(name)
                }
            }
            let chunkedPositions = codings.indices.filter { ByteClass.equalsIgnoringCase(codings[$0], "chunked") }
            guard chunkedPositions == [codings.count - 1] else { throw HTTPParseError(.invalidTransferEncoding) }
            guard codings.count == 1 else { throw HTTPParseError(.unsupportedTransferCoding) }
            return .chunked
        }
        guard !contentLengths.isEmpty else { return .none }
        guard contentLengths.count == 1 else { throw HTTPParseError(.repeatedContentLength) }
        let digits = contentLengths[0].utf8
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw HTTPParseError(.invalidContentLength)
        }
        var length = 0
        for digit in digits {
            let (times10, overflowA) = length.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = times10.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
            if overflowA || overflowB || sum > configuration.maxBodyBytes {
                throw HTTPParseError(.contentTooLarge)
            }
            length = sum
        }
        return .contentLength(length)
    }

    /// `chunk-size [ BWS ";" chunk-ext ]` (RFC 9112 §7.1); extensions are checked for control
    /// characters and otherwise ignored; whitespace after the size with no `;` is refused.
    func parseChunkSize(_ line: Range<Int>) throws(HTTPParseError) -> UInt64 {
        try buffer.withUnsafeBufferPointer { bytes throws(HTTPParseError) in
            var index = line.lowerBound
            var size: UInt64 = 0
            while index < line.upperBound, let digit = ByteClass.hexValue(bytes[index]) {
                guard size <= (UInt64.max >> 4) else { throw HTTPParseError(.chunkSizeOverflow) }
                size = size << 4 | digit
                index += 1
            }
            guard index > line.lowerBound else { throw HTTPParseError(.invalidChunkSize) }
            let sizeEnd = index
            while index < line.upperBound && (bytes[index] == .space || bytes[index] == .horizontalTab) {
                index += 1
            }
            // BWS is allowed only before an extension's ";" (RFC 9112 §7.1.1): `5 \r\n` is
            // not a chunk-size line, and lenient parsers disagree on it.
            guard index == sizeEnd || (index < line.upperBound && bytes[index] == UInt8(ascii: ";")) else {
                throw HTTPParseError(.invalidChunkSize)
            }
            guard index == line.upperBound || bytes[index] == UInt8(ascii: ";") else {
                throw HTTPParseError(bytes[index] == .carriageReturn ? .bareCarriageReturn : .invalidChunkSize)
            }
            for position in index..<line.upperBound where !ByteClass.fieldValue[Int(bytes[position])] {
                throw HTTPParseError(bytes[position] == .carriageReturn ? .bareCarriageReturn : .invalidChunkSize)
            }
            return size
        }
    }
}

extension Substring {
    /// The substring without leading and trailing SP and HTAB (OWS, RFC 9110 §5.6.3).
    func trimmingSpaces() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}

extension String {
    /// The string without leading and trailing SP and HTAB.
    func trimmingSpaces() -> Substring { Substring(self).trimmingSpaces() }
}
