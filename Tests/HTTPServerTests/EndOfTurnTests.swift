import EventLoops
import HTTPServer
import Synchronization
import Testing

/// `EventLoop.atEndOfTurn`: held until the work queued in the turn has run, then run once.
@Suite struct EndOfTurnTests {
    @Test
    func heldWorkRunsAfterTheTurnsQueuedWorkAndOnlyOnce() async throws {
        let group = try EventLoopGroup(threadCount: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let order = Mutex<[String]>([])
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            loop.schedule {
                order.withLock { $0.append("first") }
                loop.atEndOfTurn {
                    order.withLock { $0.append("end of turn") }
                    // Work the held closure queues runs after it, in a later round.
                    loop.schedule {
                        order.withLock { $0.append("after") }
                        done.resume()
                    }
                }
                // Queued later in the same turn: still before the held work.
                loop.schedule { order.withLock { $0.append("second") } }
            }
        }
        #expect(order.withLock { $0 } == ["first", "second", "end of turn", "after"])
    }
}
