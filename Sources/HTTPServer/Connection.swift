import HTTPCore

/// One accepted TCP connection: its descriptor, its decisions (``ConnectionStateMachine``),
/// buffered output and the clocks its deadlines run from. Owned and touched only by its loop.
final class Connection {
    let id: UInt64
    let fd: Int32
    let core: ServerCore
    let remoteAddress: String
    var machine: ConnectionStateMachine
    var outbound: [UInt8] = []
    var outboundSent = 0
    /// Edge-triggered readiness: data may be waiting / the socket may take more.
    var readable = false
    var writable = true
    /// Output is finished and SHUT_WR sent; input is being drained until EOF or the deadline.
    var lingering = false
    var deadline: UInt64 = .max
    var lastActivityAt: UInt64
    var lastWriteProgressAt: UInt64
    var headStartedAt: UInt64?

    init(id: UInt64, fd: Int32, core: ServerCore, remoteAddress: String, now: UInt64) {
        self.id = id
        self.fd = fd
        self.core = core
        self.remoteAddress = remoteAddress
        self.machine = ConnectionStateMachine(limits: core.configuration.limits)
        self.lastActivityAt = now
        self.lastWriteProgressAt = now
    }

    var hasPendingOutput: Bool { outboundSent < outbound.count }

    /// Recomputes the one deadline that applies in the current phase.
    func updateDeadline(now: UInt64) {
        let configuration = core.configuration
        if lingering { return }
        if hasPendingOutput {
            deadline = lastWriteProgressAt &+ configuration.writeTimeout.nanoseconds
            return
        }
        switch machine.phase {
        case .handling, .closing:
            deadline = .max
        case .idle:
            headStartedAt = nil
            deadline = lastActivityAt &+ configuration.idleTimeout.nanoseconds
        case .readingHead:
            if headStartedAt == nil { headStartedAt = now }
            deadline = (headStartedAt ?? now) &+ configuration.headerReadTimeout.nanoseconds
        case .readingBody:
            headStartedAt = nil
            deadline = lastActivityAt &+ configuration.bodyReadTimeout.nanoseconds
        }
    }
}
