import PostgresClient
import Store

/// Why an inbox could not store, read or update events, whichever store it is on.
///
/// `code` names the store and its code (`sqlite:13`, `postgres:commit:08006`) and is what logs
/// carry; `message` can quote stored values and stays out of logs and answers.
public struct InboxError: Error, Sendable, CustomStringConvertible {
    /// The store and its error code.
    public let code: String
    /// The store's message.
    public let message: String

    init(_ error: SQLiteError) {
        code = "sqlite:\(error.code)"
        message = error.description
    }

    init(_ error: PostgresError) {
        code = "postgres:\(error.code)"
        message = error.description
    }

    init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }
}
