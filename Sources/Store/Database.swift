import CSQLite
import Synchronization

/// One SQLite database file in WAL mode, used from any thread through one lock.
///
/// Statements are prepared once and cached by their SQL text. Every call's result code is
/// checked and turned into ``SQLiteError``.
public final class Database: Sendable {
    /// How hard to push writes to disk (PRAGMA synchronous).
    public enum Durability: String, Sendable {
        /// fsync on every commit: an acknowledged write survives power loss.
        case full = "FULL"
        /// WAL default: survives a process crash; the last commits may be lost on power loss.
        case normal = "NORMAL"
    }

    final class Connection: @unchecked Sendable {
        // @unchecked: only used inside `Database.state`'s lock.
        let handle: OpaquePointer
        var statements: [String: OpaquePointer] = [:]
        init(handle: OpaquePointer) { self.handle = handle }
        deinit {
            for statement in statements.values { sqlite3_finalize(statement) }
            sqlite3_close_v2(handle)
        }
    }

    private let state: Mutex<Connection>
    /// The file path.
    public let path: String

    /// Opens (creating if needed) the database at `path`, in WAL mode.
    /// - Parameter exclusive: hold the file lock for the life of the connection
    ///   (`locking_mode=EXCLUSIVE`): no `fcntl` lock round trip and no shared-memory index per
    ///   transaction, and a second process on the same file fails instead of sharing it. For
    ///   files only this process uses.
    public init(path: String, durability: Durability = .full, exclusive: Bool = false) throws(SQLiteError) {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let handle { sqlite3_close_v2(handle) }
            throw SQLiteError(code: code, message: message, operation: "open \(path)")
        }
        sqlite3_extended_result_codes(handle, 1)
        self.path = path
        self.state = Mutex(Connection(handle: handle))
        // Before WAL is entered, so the WAL index lives in heap memory rather than a -shm file.
        if exclusive { try execute("PRAGMA locking_mode=EXCLUSIVE") }
        try execute("PRAGMA journal_mode=WAL")
        try execute("PRAGMA synchronous=\(durability.rawValue)")
        try execute("PRAGMA busy_timeout=5000")
        try execute("PRAGMA foreign_keys=ON")
    }

    /// Runs SQL without results (several statements allowed).
    public func execute(_ sql: String) throws(SQLiteError) {
        try state.withLock { connection throws(SQLiteError) in
            var errorMessage: UnsafeMutablePointer<CChar>?
            let code = sqlite3_exec(connection.handle, sql, nil, nil, &errorMessage)
            if code != SQLITE_OK {
                let message =
                    errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(connection.handle))
                sqlite3_free(errorMessage)
                throw SQLiteError(code: code, message: message, operation: "exec")
            }
        }
    }

    /// Runs `body` with exclusive use of the connection (for transactions and statement series).
    public func withConnection<T>(_ body: (Session) throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        try state.withLock { connection throws(SQLiteError) in
            try body(Session(connection: connection))
        }
    }

    /// Runs `body` inside BEGIN IMMEDIATE … COMMIT, rolling back when it throws.
    public func transaction<T>(_ body: (Session) throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        try withConnection { session throws(SQLiteError) in
            try session.run("BEGIN IMMEDIATE")
            do throws(SQLiteError) {
                let result = try body(session)
                try session.run("COMMIT")
                return result
            } catch {
                _ = try? session.run("ROLLBACK")
                throw error
            }
        }
    }
}
