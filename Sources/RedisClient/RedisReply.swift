import CHiredis

/// A Redis reply (RESP2), copied out of hiredis's reply object.
public enum RedisReply: Sendable, Equatable {
    case status(String)
    case error(String)
    case integer(Int64)
    case string([UInt8])
    case array([RedisReply])
    case null

    /// Copies `reply` (owned by hiredis, freed after the callback returns).
    init(_ reply: UnsafePointer<redisReply>) {
        let value = reply.pointee
        switch value.type {
        case citygate_redis_reply_status: self = .status(Self.text(value))
        case citygate_redis_reply_error: self = .error(Self.text(value))
        case citygate_redis_reply_integer: self = .integer(Int64(value.integer))
        case citygate_redis_reply_string:
            self = .string(value.str.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(value.len))) } ?? [])
        case citygate_redis_reply_array:
            var elements: [RedisReply] = []
            if let list = value.element {
                for index in 0..<Int(value.elements) {
                    if let element = list[index] { elements.append(RedisReply(element)) }
                }
            }
            self = .array(elements)
        default: self = .null
        }
    }

    private static func text(_ reply: redisReply) -> String {
        guard let pointer = reply.str else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: Int(reply.len)), as: UTF8.self)
    }
}

/// Why a command has no reply: the server is unreachable or dropped the connection, it did not
/// answer in time, or the client is shut down. (A Redis error reply is a reply: ``RedisReply/error(_:)``.)
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    case unavailable(String)
    case timeout
    case closed

    public var description: String {
        switch self {
        case .unavailable(let reason): "redis unavailable: \(reason)"
        case .timeout: "redis did not answer in time"
        case .closed: "the redis client is shut down"
        }
    }
}
