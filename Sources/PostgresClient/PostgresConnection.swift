import CLibpq
import Foundation

/// One blocking libpq connection, used by one thread at a time (a pool thread or the inbox's
/// writer): connects on first use, reconnects after a failure — at most once a second, so an
/// unreachable server costs each call a fast refusal, not a connect timeout.
///
/// ```
///   let connection = PostgresConnection(url: "postgresql://citygate@127.0.0.1:5432/postgres")
///   let rows = try connection.query("SELECT id FROM event WHERE partner = $1", [.text("wx")])
/// ```
public final class PostgresConnection {
    private var handle: OpaquePointer?
    private let url: String
    private var lastAttempt: ContinuousClock.Instant?
    /// How long a statement may run on the server before it is cancelled there.
    private let statementTimeoutMilliseconds: Int

    /// A connection to `url` (a `postgresql://` URI or a `key=value` string), made on first use.
    public init(url: String, statementTimeoutMilliseconds: Int = 10_000) {
        self.url = url
        self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
    }

    deinit { close() }

    /// Closes the connection (the next call opens a new one).
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    /// Whether the connection is open and usable.
    public var isOpen: Bool { handle.map { PQstatus($0) == CONNECTION_OK } ?? false }

    private func connected() throws(PostgresError) -> OpaquePointer {
        if let handle, PQstatus(handle) == CONNECTION_OK { return handle }
        close()
        let now = ContinuousClock.now
        if let lastAttempt, lastAttempt.duration(to: now) < .seconds(1) {
            throw PostgresError(message: "the server was unreachable less than a second ago", operation: "connect")
        }
        lastAttempt = now
        // dbname first: with expand_dbname the URL's settings apply, then ours override them.
        // Keepalives and the TCP user timeout notice a server that stopped answering; the
        // statement timeout bounds what one call can hold a pool thread; notices (`CREATE … IF NOT
        // EXISTS`) would go to stderr as unstructured lines, so only errors come back.
        let settings: [(String, String)] = [
            ("dbname", url), ("application_name", "citygate"), ("connect_timeout", "2"),
            ("keepalives", "1"), ("keepalives_idle", "5"), ("keepalives_interval", "2"), ("keepalives_count", "2"),
            ("tcp_user_timeout", "5000"),
            ("options", "-c statement_timeout=\(statementTimeoutMilliseconds) -c client_min_messages=error"),
        ]
        let keywords = settings.map { strdup($0.0) }
        let values = settings.map { strdup($0.1) }
        defer {
            for pointer in keywords + values { free(pointer) }
        }
        guard keywords.allSatisfy({ $0 != nil }), values.allSatisfy({ $0 != nil }) else {
            throw PostgresError(message: "out of memory", operation: "connect")
        }
        let made: OpaquePointer? = (keywords.map { UnsafePointer($0) } + [nil]).withUnsafeBufferPointer { names in
            (values.map { UnsafePointer($0) } + [nil]).withUnsafeBufferPointer { settings in
                PQconnectdbParams(names.baseAddress, settings.baseAddress, 1)
            }
        }
        guard let made else { throw PostgresError(message: "out of memory", operation: "connect") }
        guard PQstatus(made) == CONNECTION_OK else {
            let message = Self.message(PQerrorMessage(made))
            PQfinish(made)
            throw PostgresError(message: message, operation: "connect")
        }
        handle = made
        return made
    }

    /// Runs one statement with `$1…` parameters; returns its rows (text format).
    @discardableResult
    public func query(_ sql: String, _ parameters: [PostgresValue] = [], operation: String = "query")
        throws(PostgresError) -> PostgresRows
    {
        let connection = try connected()
        // Parameter bytes the statement reads; owned here and freed after the call returns.
        var buffers: [UnsafeMutablePointer<CChar>?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        defer {
            for buffer in buffers { free(buffer) }
        }
        for parameter in parameters {
            switch parameter {
            case .null:
                buffers.append(nil)
                lengths.append(0)
                formats.append(0)
            case .text(let text):
                // A C string ends at NUL: a value holding one would be stored cut short, and
                // PostgreSQL's text cannot hold it anyway.
                guard !text.utf8.contains(0) else {
                    throw PostgresError(
                        sqlState: "22021", message: "a text parameter contains a NUL character", operation: operation)
                }
                buffers.append(strdup(text))
                lengths.append(0)
                formats.append(0)
            case .integer(let value):
                buffers.append(strdup(String(value)))
                lengths.append(0)
                formats.append(0)
            case .bytes(let bytes):
                let buffer = malloc(max(1, bytes.count))?.assumingMemoryBound(to: CChar.self)
                if let buffer {
                    bytes.withUnsafeBytes { source in
                        if let base = source.baseAddress { memcpy(buffer, base, bytes.count) }
                    }
                }
                buffers.append(buffer)
                lengths.append(Int32(bytes.count))
                formats.append(1)
            }
            if case .null = parameter { continue }
            if let last = buffers.last, last == nil {
                throw PostgresError(message: "out of memory", operation: operation)
            }
        }
        let result: OpaquePointer? = buffers.map { UnsafePointer($0) }.withUnsafeBufferPointer { values in
            lengths.withUnsafeBufferPointer { lengths in
                formats.withUnsafeBufferPointer { formats in
                    PQexecParams(
                        connection, sql, Int32(parameters.count), nil, values.baseAddress, lengths.baseAddress,
                        formats.baseAddress, 0)
                }
            }
        }
        guard let result else {
            let message = Self.message(PQerrorMessage(connection))
            if PQstatus(connection) != CONNECTION_OK { close() }
            throw PostgresError(message: message, operation: operation)
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK else {
            let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = Self.message(PQresultErrorMessage(result))
            if PQstatus(connection) != CONNECTION_OK { close() }
            throw PostgresError(sqlState: sqlState, message: message, operation: operation)
        }
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var columns: [String?] = []
            columns.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) != 0 {
                    columns.append(nil)
                } else {
                    columns.append(PQgetvalue(result, Int32(row), Int32(column)).map { String(cString: $0) } ?? "")
                }
            }
            rows.append(columns)
        }
        let affected = PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
        return PostgresRows(rows: rows, affected: affected)
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    /// Returns only after COMMIT answered: a failed commit throws, so nothing is reported as
    /// stored that is not.
    public func transaction<T>(_ body: (PostgresConnection) throws(PostgresError) -> T) throws(PostgresError) -> T {
        try query("BEGIN", operation: "begin")
        do {
            let value = try body(self)
            try query("COMMIT", operation: "commit")
            return value
        } catch {
            _ = try? query("ROLLBACK", operation: "rollback")
            throw error
        }
    }

    private static func message(_ pointer: UnsafePointer<CChar>?) -> String {
        guard let pointer else { return "no message" }
        return String(cString: pointer).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
