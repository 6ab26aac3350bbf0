/// Why a request could not be parsed, with the status the server answers and a detail that is
/// safe to show the client (it never echoes the offending bytes).
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The specific reason.
    public enum Kind: String, Sendable, CaseIterable {
        case invalidMethod = "invalid-method"
        case invalidRequestTarget = "invalid-request-target"
        case invalidRequestLine = "invalid-request-line"
        case invalidVersion = "invalid-version"
        case unsupportedVersion = "unsupported-version"
        case requestLineTooLong = "request-line-too-long"
        case bareLineFeed = "bare-line-feed"
        case bareCarriageReturn = "bare-carriage-return"
        case obsoleteLineFolding = "obsolete-line-folding"
        case whitespaceBeforeColon = "whitespace-before-colon"
        case invalidFieldName = "invalid-field-name"
        case invalidFieldValue = "invalid-field-value"
        case headerSectionTooLarge = "header-section-too-large"
        case tooManyFields = "too-many-fields"
        case missingHost = "missing-host"
        case repeatedHost = "repeated-host"
        case invalidHost = "invalid-host"
        case contentLengthWithTransferEncoding = "content-length-with-transfer-encoding"
        case invalidContentLength = "invalid-content-length"
        case repeatedContentLength = "repeated-content-length"
        case invalidTransferEncoding = "invalid-transfer-encoding"
        case unsupportedTransferCoding = "unsupported-transfer-coding"
        case transferEncodingInHTTP10 = "transfer-encoding-in-http-1.0"
        case invalidChunkSize = "invalid-chunk-size"
        case chunkSizeOverflow = "chunk-size-overflow"
        case chunkLineTooLong = "chunk-line-too-long"
        case invalidChunkTerminator = "invalid-chunk-terminator"
        case contentTooLarge = "content-too-large"
        case unsupportedExpectation = "unsupported-expectation"
    }

    /// The specific reason.
    public var kind: Kind

    /// Creates an error of one kind.
    public init(_ kind: Kind) {
        self.kind = kind
    }

    /// The status the server answers with (RFC 9112, RFC 9110 §15).
    public var status: Status {
        switch kind {
        case .requestLineTooLong: .uriTooLong
        case .headerSectionTooLarge, .tooManyFields: .requestHeaderFieldsTooLarge
        case .contentTooLarge: .contentTooLarge
        case .unsupportedVersion: .httpVersionNotSupported
        case .unsupportedTransferCoding: .notImplemented
        case .unsupportedExpectation: .expectationFailed
        default: .badRequest
        }
    }

    /// A one-sentence explanation for the problem body.
    public var detail: String {
        switch kind {
        case .invalidMethod: "The method is not a valid token."
        case .invalidRequestTarget: "The request target contains characters or a form that is not allowed."
        case .invalidRequestLine: "The request line must be 'method SP target SP version' with single spaces."
        case .invalidVersion: "The HTTP version is malformed."
        case .unsupportedVersion: "Only HTTP/1.0 and HTTP/1.1 are supported on this connection."
        case .requestLineTooLong: "The request line is longer than the server accepts."
        case .bareLineFeed: "Lines must end with CRLF; a bare LF was received."
        case .bareCarriageReturn: "A CR not followed by LF was received."
        case .obsoleteLineFolding: "Obsolete line folding is not accepted (RFC 9112 §5.2)."
        case .whitespaceBeforeColon: "Whitespace between a field name and the colon is not allowed (RFC 9112 §5.1)."
        case .invalidFieldName: "A field name contains a character that is not a token character."
        case .invalidFieldValue: "A field value contains a control character."
        case .headerSectionTooLarge: "The header section is larger than the server accepts."
        case .tooManyFields: "The request has more header fields than the server accepts."
        case .missingHost: "HTTP/1.1 requests must carry a Host field."
        case .repeatedHost: "The Host field must appear exactly once."
        case .invalidHost: "The Host field is malformed."
        case .contentLengthWithTransferEncoding:
            "Content-Length and Transfer-Encoding must not both be present."
        case .invalidContentLength: "Content-Length must be a single decimal number."
        case .repeatedContentLength: "Content-Length must appear exactly once."
        case .invalidTransferEncoding: "Transfer-Encoding must end with a single 'chunked'."
        case .unsupportedTransferCoding: "Only the 'chunked' transfer coding is supported."
        case .transferEncodingInHTTP10: "Transfer-Encoding is not allowed in an HTTP/1.0 request."
        case .invalidChunkSize: "A chunk size is not a hexadecimal number."
        case .chunkSizeOverflow: "A chunk size is too large to represent."
        case .chunkLineTooLong: "A chunk size line is longer than the server accepts."
        case .invalidChunkTerminator: "Chunk data must be followed by CRLF."
        case .contentTooLarge: "The request content is larger than the server accepts."
        case .unsupportedExpectation: "Only 'Expect: 100-continue' is supported."
        }
    }

    /// `status kind`, for logs.
    public var description: String { "\(status.code) \(kind.rawValue)" }
}
