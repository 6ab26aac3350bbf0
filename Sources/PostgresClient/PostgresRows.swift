/// The rows a statement returned, copied out of libpq's result (which is freed at once), in
/// text format.
public struct PostgresRows: Sendable {
    /// Each row's columns; nil is SQL NULL.
    public let rows: [[String?]]
    /// Rows an INSERT, UPDATE or DELETE changed (`PQcmdTuples`), 0 for others.
    public let affected: Int

    /// Creates a result.
    public init(rows: [[String?]], affected: Int) {
        self.rows = rows
        self.affected = affected
    }

    /// Maps every row.
    public func map<T>(_ body: (PostgresRow) throws -> T) rethrows -> [T] {
        try rows.map { try body(PostgresRow(columns: $0)) }
    }

    /// The first row, if any.
    public var first: PostgresRow? { rows.first.map(PostgresRow.init) }
}

/// One row of text-format columns, read by position.
public struct PostgresRow: Sendable {
    /// The columns; nil is SQL NULL.
    public let columns: [String?]

    /// The column as text (nil: NULL or no such column).
    public func text(_ index: Int) -> String? { index < columns.count ? columns[index] : nil }

    /// The column as an integer (0 when NULL or not a number).
    public func integer(_ index: Int) -> Int64 { text(index).flatMap { Int64($0) } ?? 0 }

    /// Whether the column is NULL.
    public func isNull(_ index: Int) -> Bool { text(index) == nil }

    /// A `bytea` column (text format: `\x` then hex pairs); empty when NULL or malformed.
    public func bytes(_ index: Int) -> [UInt8] {
        guard let text = text(index) else { return [] }
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0
        else { return [] }
        var bytes: [UInt8] = []
        bytes.reserveCapacity((utf8.count - 2) / 2)
        var index = 2
        while index < utf8.count {
            guard let high = Self.nibble(utf8[index]), let low = Self.nibble(utf8[index + 1]) else { return [] }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
