/// A query parameter. Text and integers travel in PostgreSQL's text format, bytes in its binary
/// format (no escaping, no hex doubling).
public enum PostgresValue: Sendable, Equatable {
    case text(String)
    case integer(Int64)
    case bytes([UInt8])
    case null

    /// `.text` or `.null`.
    public static func optional(_ text: String?) -> PostgresValue { text.map { .text($0) } ?? .null }
}
