import PostgresClient
import Store

/// What a log line may say of a store's failure: its code (SQLite's result code, or the
/// operation and SQLSTATE), never its message, which may quote the values it was given.
enum StoreErrorCode {
    /// The code of `error`, or `unknown` for an error of no store.
    static func of(_ error: any Error) -> String {
        switch error {
        case let error as SQLiteError: return String(error.code)
        case let error as PostgresError: return error.code
        default: return "unknown"
        }
    }
}
