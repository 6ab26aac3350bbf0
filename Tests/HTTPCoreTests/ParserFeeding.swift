import HTTPCore

/// Ways of feeding the same bytes to a parser; every table runs under each of them.
enum Feeding: String, CaseIterable, CustomStringConvertible {
    case whole
    case byteByByte
    case afterValidRequest

    var description: String { rawValue }

    static let prelude = Array("GET /first HTTP/1.1\r\nHost: example\r\n\r\n".utf8)

    /// Parses `bytes` and returns the requests completed and the error, if any.
    func parse(
        _ bytes: [UInt8],
        configuration: RequestParser.Configuration = RequestParser.Configuration()
    ) -> (requests: [Request], heads: [RequestHead], error: HTTPParseError?) {
        var parser = RequestParser(configuration: configuration)
        var requests: [Request] = []
        var heads: [RequestHead] = []
        let input = self == .afterValidRequest ? Feeding.prelude + bytes : bytes
        let pieces: [[UInt8]] = self == .byteByByte ? input.map { [$0] } : [input]
        do {
            for piece in pieces {
                parser.append(contentsOf: piece)
                while let event = try parser.next() {
                    switch event {
                    case .head(let head): heads.append(head)
                    case .request(let request): requests.append(request)
                    }
                }
            }
        } catch {
            return (self == .afterValidRequest ? Array(requests.dropFirst()) : requests, heads, error)
        }
        if self == .afterValidRequest {
            precondition(requests.first?.path == "/first", "the prelude must always parse")
            return (Array(requests.dropFirst()), heads, nil)
        }
        return (requests, heads, nil)
    }
}

extension Array where Element == UInt8 {
    /// The bytes of a string literal, with `\r\n` written out as in the RFCs.
    static func http(_ text: String) -> [UInt8] { Array(text.utf8) }
}
