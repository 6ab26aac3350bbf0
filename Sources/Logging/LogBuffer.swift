import CSystemLinux

/// Log lines held for one thread until its owner flushes them: an event loop installs one on its
/// thread so that the lines of a whole turn (an access line per request) leave in one `write`
/// at the turn's end. Touched only by the thread it is installed on.
public final class LogBuffer {
    private var bytes: [UInt8] = []
    private let firstLine: (LogBuffer) -> Void
    private let write: ([UInt8]) -> Void

    /// Lines flush when the buffer reaches this size, whatever the turn.
    static let flushThreshold = 64 * 1024

    /// Creates a buffer; `firstLine` runs when a line lands in an empty buffer (an event loop
    /// schedules ``flush()`` for the end of its turn there); `write` takes what is flushed
    /// (standard output, unless a test captures it).
    public init(write: @escaping ([UInt8]) -> Void = Log.output, firstLine: @escaping (LogBuffer) -> Void) {
        self.write = write
        self.firstLine = firstLine
        bytes.reserveCapacity(Self.flushThreshold)
    }

    /// Makes this the calling thread's buffer (nil: lines are written at once again). The
    /// caller keeps the buffer alive while it is installed.
    public static func install(_ buffer: LogBuffer?) {
        citygate_set_current_log_buffer(buffer.map { Unmanaged.passUnretained($0).toOpaque() })
    }

    func append(_ line: [UInt8]) {
        if bytes.isEmpty { firstLine(self) }
        bytes.append(contentsOf: line)
        if bytes.count >= Self.flushThreshold { flush() }
    }

    /// Writes what is held.
    public func flush() {
        guard !bytes.isEmpty else { return }
        write(bytes)
        bytes.removeAll(keepingCapacity: true)
    }
}
