import HTTPCore
import Testing

@testable import HTTPServer

/// The connection's decisions, without sockets.
struct ConnectionStateMachineTests {
    func feed(_ machine: inout ConnectionStateMachine, _ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { machine.received($0) }
    }

    @Test
    func dispatchesOneRequestAtATime() {
        var machine = ConnectionStateMachine(limits: .init())
        feed(&machine, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        guard case .dispatch(let first) = machine.nextAction() else {
            Issue.record("expected dispatch")
            return
        }
        #expect(first.path == "/a")
        guard case .wait = machine.nextAction() else {
            Issue.record("a second request must wait")
            return
        }
        #expect(machine.phase == .handling)
        let keepAlive = machine.responded()
        #expect(keepAlive)
        guard case .dispatch(let second) = machine.nextAction() else {
            Issue.record("expected dispatch")
            return
        }
        #expect(second.path == "/b")
    }

    @Test
    func asksForContinueThenDispatches() {
        var machine = ConnectionStateMachine(limits: .init())
        feed(&machine, "PUT /u HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        guard case .sendContinue = machine.nextAction() else {
            Issue.record("expected 100-continue")
            return
        }
        guard case .needMoreData = machine.nextAction() else {
            Issue.record("expected to wait for content")
            return
        }
        #expect(machine.phase == .readingBody)
        feed(&machine, "ok")
        guard case .dispatch = machine.nextAction() else {
            Issue.record("expected dispatch")
            return
        }
    }

    @Test
    func rejectsOnceAndThenOnlyWaits() {
        var machine = ConnectionStateMachine(limits: .init())
        feed(&machine, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
        guard case .reject(let error) = machine.nextAction() else {
            Issue.record("expected reject")
            return
        }
        #expect(error.kind == .repeatedContentLength)
        guard case .wait = machine.nextAction() else {
            Issue.record("nothing after a rejection")
            return
        }
        #expect(machine.phase == .closing)
        #expect(!machine.wantsInput)
    }

    @Test
    func phasesFollowTheRequest() {
        var machine = ConnectionStateMachine(limits: .init())
        #expect(machine.phase == .idle)
        feed(&machine, "POST / HTTP/1.1\r\nHo")
        _ = machine.nextAction()
        #expect(machine.phase == .readingHead)
        feed(&machine, "st: x\r\nContent-Length: 3\r\n\r\na")
        _ = machine.nextAction()
        _ = machine.nextAction()
        #expect(machine.phase == .readingBody)
        feed(&machine, "bc")
        _ = machine.nextAction()
        #expect(machine.phase == .handling)
        _ = machine.responded()
        #expect(machine.phase == .idle)
    }

    @Test
    func peerCloseWhileIdleClosesAndWhileHandlingFinishesFirst() {
        var idle = ConnectionStateMachine(limits: .init())
        idle.peerDidClose()
        guard case .close = idle.nextAction() else {
            Issue.record("expected close")
            return
        }

        var busy = ConnectionStateMachine(limits: .init())
        feed(&busy, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = busy.nextAction()
        busy.peerDidClose()
        guard case .wait = busy.nextAction() else {
            Issue.record("the handler's answer comes first")
            return
        }
        let keepAlive = busy.responded()
        #expect(!keepAlive, "no keep-alive after the peer closed")
    }

    @Test
    func drainingFinishesTheRequestThenCloses() {
        var machine = ConnectionStateMachine(limits: .init())
        feed(&machine, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = machine.nextAction()
        machine.startDraining()
        let keepAlive = machine.responded()
        #expect(!keepAlive, "the in-flight response carries Connection: close")
        guard case .wait = machine.nextAction() else {
            Issue.record("pipelined request is not started")
            return
        }
    }
}
