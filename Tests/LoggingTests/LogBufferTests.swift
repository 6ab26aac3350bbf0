import Foundation
import Logging
import Synchronization
import Testing

/// Lines logged on a thread with a ``LogBuffer`` installed wait for its flush (an event loop's
/// end of turn) and leave together; personal data is masked on the way in.
struct LogBufferTests {
    /// Runs `body` on a thread of its own (the buffer is per thread) and waits for it.
    static func onThread(_ body: @escaping @Sendable () -> Void) {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            body()
            done.signal()
        }
        thread.start()
        done.wait()
    }

    final class Capture: @unchecked Sendable {
        // @unchecked: written and read on one thread at a time (the test thread waits for it).
        var writes: [[UInt8]] = []
        var firstLines = 0
    }

    @Test
    func aTurnsLinesLeaveInOneWriteWhenFlushed() {
        let capture = Capture()
        Self.onThread {
            let buffer = LogBuffer(write: { capture.writes.append($0) }, firstLine: { _ in capture.firstLines += 1 })
            LogBuffer.install(buffer)
            defer { LogBuffer.install(nil) }
            Log.info("first", ["requestId": "r1"])
            Log.error("second", ["phone": "13812345678"])
            Log.info("third")
            #expect(capture.writes.isEmpty, "nothing is written before the flush")
            #expect(capture.firstLines == 1, "the owner hears of the first line only")
            buffer.flush()
            buffer.flush()
        }
        #expect(capture.writes.count == 1, "one write for the turn, and none for an empty flush")
        let text = String(decoding: capture.writes.first ?? [], as: UTF8.self)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
        #expect(!text.contains("13812345678"), "a phone number is masked")
    }

    @Test
    func aFullBufferFlushesWithoutWaitingForTheTurn() {
        let capture = Capture()
        Self.onThread {
            let buffer = LogBuffer(write: { capture.writes.append($0) }, firstLine: { _ in })
            LogBuffer.install(buffer)
            defer { LogBuffer.install(nil) }
            let padding = String(repeating: "x", count: 1_000)
            for index in 0..<80 { Log.info("line \(index)", ["padding": padding]) }
            #expect(!capture.writes.isEmpty, "64 KiB held is written at once")
        }
        #expect(capture.writes.allSatisfy { $0.count >= 64 * 1024 })
    }

    @Test
    func anotherThreadsLinesAreNotHeld() {
        let capture = Capture()
        Self.onThread {
            let buffer = LogBuffer(write: { capture.writes.append($0) }, firstLine: { _ in capture.firstLines += 1 })
            LogBuffer.install(buffer)
            Self.onThread { Log.info("from a thread without a buffer") }
            #expect(capture.firstLines == 0)
            LogBuffer.install(nil)
        }
    }
}
