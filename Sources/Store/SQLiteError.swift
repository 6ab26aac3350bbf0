import CSQLite

/// A failed SQLite call: the result code, SQLite's message and what we were doing.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// The (extended) result code.
    public var code: Int32
    /// SQLite's message.
    public var message: String
    /// The operation, e.g. `prepare`, `step`, `open /var/lib/citygate/gateway.db`.
    public var operation: String

    /// Creates an error.
    public init(code: Int32, message: String, operation: String) {
        self.code = code
        self.message = message
        self.operation = operation
    }

    /// Whether the disk is full or read-only — the conditions under which an inbox must refuse
    /// to acknowledge rather than pretend.
    public var isStorageUnavailable: Bool {
        let primary = code & 0xFF
        return primary == SQLITE_FULL || primary == SQLITE_READONLY || primary == SQLITE_IOERR
            || primary == SQLITE_CANTOPEN
    }

    /// `operation: message (code)`.
    public var description: String { "\(operation): \(message) (\(code))" }
}
