import CSQLite

/// A value that can be bound to a statement parameter.
public enum SQLValue: Sendable, Equatable {
    case integer(Int64)
    case text(String)
    case blob([UInt8])
    case null
}

/// Exclusive use of the connection for the duration of a ``Database/withConnection(_:)`` call;
/// valid only inside that closure. (It was `~Copyable` to make escaping impossible, but Swift
/// 6.3.1's release optimizer crashes specializing generic closures over a borrowed
/// non-copyable parameter, so the rule is documented instead.)
public struct Session {
    let connection: Database.Connection

    /// Runs a statement that returns no rows; returns the number of rows changed.
    @discardableResult
    public func run(_ sql: String, _ values: [SQLValue] = []) throws(SQLiteError) -> Int {
        let statement = try prepared(sql, values)
        defer { sqlite3_reset(statement) }
        let code = sqlite3_step(statement)
        guard code == SQLITE_DONE || code == SQLITE_ROW else { throw error(code, "step") }
        return Int(sqlite3_changes(connection.handle))
    }

    /// Runs a query and maps each row.
    public func query<T>(_ sql: String, _ values: [SQLValue] = [], row: (Row) -> T) throws(SQLiteError) -> [T] {
        let statement = try prepared(sql, values)
        defer { sqlite3_reset(statement) }
        var results: [T] = []
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { return results }
            guard code == SQLITE_ROW else { throw error(code, "step") }
            results.append(row(Row(statement: statement)))
        }
    }

    private func prepared(_ sql: String, _ values: [SQLValue]) throws(SQLiteError) -> OpaquePointer {
        let statement: OpaquePointer
        if let cached = connection.statements[sql] {
            statement = cached
        } else {
            var created: OpaquePointer?
            let code = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &created, nil)
            guard code == SQLITE_OK, let created else { throw error(code, "prepare") }
            connection.statements[sql] = created
            statement = created
        }
        sqlite3_clear_bindings(statement)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .integer(let number): code = sqlite3_bind_int64(statement, index, number)
            case .text(let text): code = citygate_bind_text(statement, index, text, Int32(text.utf8.count))
            case .blob(let bytes):
                code = bytes.withUnsafeBytes { citygate_bind_blob(statement, index, $0.baseAddress, Int32($0.count)) }
            case .null: code = sqlite3_bind_null(statement, index)
            }
            guard code == SQLITE_OK else { throw error(code, "bind") }
        }
        return statement
    }

    private func error(_ code: Int32, _ operation: String) -> SQLiteError {
        SQLiteError(code: code, message: String(cString: sqlite3_errmsg(connection.handle)), operation: operation)
    }
}

/// One result row, valid only inside the `row` closure.
public struct Row {
    let statement: OpaquePointer

    /// An integer column.
    public func integer(_ index: Int32) -> Int64 { sqlite3_column_int64(statement, index) }

    /// A text column (nil for NULL).
    public func text(_ index: Int32) -> String? {
        guard let pointer = sqlite3_column_text(statement, index) else { return nil }
        return String(cString: pointer)
    }

    /// A blob column.
    public func blob(_ index: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(statement, index))
        guard count > 0, let pointer = sqlite3_column_blob(statement, index) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
