/// A failed PostgreSQL call: what we were doing, the server's SQLSTATE when it answered, and
/// its message.
///
/// The message may quote values (a unique-violation names the key), so logs carry `code` and
/// `operation` only; `description` is for tests and the operator's terminal.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// The five-character SQLSTATE (`23505`, `57014`, …), nil when no server answered.
    public var sqlState: String?
    /// The server's or libpq's message.
    public var message: String
    /// The operation: `connect`, `query`, `begin`, `commit`, `migrate`.
    public var operation: String

    /// Creates an error.
    public init(sqlState: String? = nil, message: String, operation: String) {
        self.sqlState = sqlState
        self.message = message
        self.operation = operation
    }

    /// Whether the server could not be reached or the connection broke (class 08, or no
    /// SQLSTATE at all): the call may succeed on a new connection.
    public var isConnectionFailure: Bool { sqlState == nil || sqlState?.hasPrefix("08") == true }

    /// What a log line may carry: the SQLSTATE (or `connection`) and the operation, no values.
    public var code: String { "\(operation):\(sqlState ?? "connection")" }

    /// `operation: message (SQLSTATE)`.
    public var description: String { "\(operation): \(message) (\(sqlState ?? "no SQLSTATE"))" }
}
