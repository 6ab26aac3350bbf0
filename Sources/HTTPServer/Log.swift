import HTTPCore

#if canImport(Glibc)
    import Glibc
#endif

/// Structured JSON log lines on standard output, one object per line.
///
/// Callers pass only values that are safe to log: no secrets, no personal data. As a second
/// line of defence every message and value goes through ``PersonalDataMask``, so an ID-card or
/// mobile number that slipped into a path or an error text is masked before it is written.
public enum Log {
    /// Writes an info line.
    public static func info(_ message: String, _ fields: [String: String] = [:]) {
        write(level: "info", message, fields)
    }

    /// Writes an error line.
    public static func error(_ message: String, _ fields: [String: String] = [:]) {
        write(level: "error", message, fields)
    }

    /// Writes a message to standard error (for the CLI's usage and start-up errors).
    public static func standardError(_ message: String) {
        var bytes = Array(message.utf8)
        _ = bytes.withUnsafeMutableBytes { buffer in
            Glibc.write(2, buffer.baseAddress, buffer.count)
        }
    }

    static func write(level: String, _ message: String, _ fields: [String: String]) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var line = "{\"ts\":\(now.tv_sec).\(String(now.tv_nsec / 1_000_000 + 1000).dropFirst())"
        line += ",\"level\":" + JSONText.quoted(level) + ",\"msg\":" + JSONText.quoted(PersonalDataMask.mask(message))
        for key in fields.keys.sorted() {
            line += "," + JSONText.quoted(key) + ":" + JSONText.quoted(PersonalDataMask.mask(fields[key] ?? ""))
        }
        line += "}\n"
        // One write(2) per line so concurrent lines never interleave mid-line.
        var bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return Glibc.write(1, base + offset, buffer.count - offset)
            }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }
}
