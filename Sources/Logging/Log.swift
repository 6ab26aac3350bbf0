import CSystemLinux
import HTTPCore
import Synchronization

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

    /// Writes an info line whose fields the caller lists in the order they should appear (the
    /// access log's path: no dictionary to build, hash and sort per request). Empty values are
    /// left out.
    public static func info(_ message: String, ordered fields: KeyValuePairs<String, String>) {
        var line = start(level: "info", message)
        for (key, value) in fields where !value.isEmpty {
            appendField(key, value, to: &line)
        }
        finish(&line)
    }

    static func write(level: String, _ message: String, _ fields: [String: String]) {
        var line = start(level: level, message)
        for key in fields.keys.sorted() {
            appendField(key, fields[key] ?? "", to: &line)
        }
        finish(&line)
    }

    private static func appendField(_ key: String, _ value: String, to line: inout [UInt8]) {
        line.append(UInt8(ascii: ","))
        JSONText.appendQuoted(key, to: &line)
        line.append(UInt8(ascii: ":"))
        JSONText.appendQuoted(PersonalDataMask.mask(value), to: &line)
    }

    private static func start(level: String, _ message: String) -> [UInt8] {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        // Built as bytes: an access line per request makes this part of every call's cost.
        var line: [UInt8] = []
        line.reserveCapacity(256)
        line.append(contentsOf: "{\"ts\":\(now.tv_sec).".utf8)
        line.append(contentsOf: String(now.tv_nsec / 1_000_000 + 1000).utf8.dropFirst())
        line.append(contentsOf: ",\"level\":".utf8)
        JSONText.appendQuoted(level, to: &line)
        line.append(contentsOf: ",\"msg\":".utf8)
        JSONText.appendQuoted(PersonalDataMask.mask(message), to: &line)
        return line
    }

    private static func finish(_ line: inout [UInt8]) {
        line.append(contentsOf: "}\n".utf8)
        if let pointer = citygate_current_log_buffer() {
            Unmanaged<LogBuffer>.fromOpaque(pointer).takeUnretainedValue().append(line)
        } else {
            output(line)
        }
    }

    /// Serialises writers: a flush holds only whole lines, and two threads' flushes never
    /// interleave (a pipe may split a write larger than `PIPE_BUF` when it fills up).
    private static let outputLock = Mutex(())

    /// Writes whole lines to standard output.
    /// Writes `bytes` to standard output in one go (lines from several threads never interleave).
    public static func output(_ bytes: [UInt8]) {
        outputLock.withLock { _ in
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { buffer -> Int in
                    guard let base = buffer.baseAddress else { return 0 }
                    return Glibc.write(1, base + offset, buffer.count - offset)
                }
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
