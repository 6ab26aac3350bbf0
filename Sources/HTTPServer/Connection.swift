import HTTPCore

/// One accepted TCP connection: its descriptor, its decisions (``ConnectionStateMachine``),
/// buffered output and the clocks its deadlines run from. Owned and touched only by its loop.
final class Connection {
    let id: UInt64
    let fd: Int32
    let core: ServerCore
    let remoteAddress: String
    /// The client's IP (no port), the key of the per-address connection limit.
    let host: String
    var machine: ConnectionStateMachine
    /// The TLS session on a TLS listener; nil on a cleartext one.
    let tls: TLSSession?
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
    var bodyStartedAt: UInt64?
    /// When it was accepted.
    let acceptedAt: UInt64
    /// Whether a response was written: only then is an idle connection a kept-alive one (a
    /// connection whose first request has not been read yet is idle too, but not finished).
    var hasAnswered = false

    init(
        id: UInt64, fd: Int32, core: ServerCore, remoteAddress: String, host: String, now: UInt64,
        tls: TLSSession? = nil
    ) {
        self.tls = tls
        self.id = id
        self.fd = fd
        self.core = core
        self.remoteAddress = remoteAddress
        self.host = host
        self.machine = ConnectionStateMachine(limits: core.configuration.limits)
        self.lastActivityAt = now
        self.lastWriteProgressAt = now
        self.acceptedAt = now
    }

    var hasPendingOutput: Bool { outboundSent < outbound.count }

    /// Whether a read may make progress now: input may be waiting, and a TLS read that stopped
    /// for lack of room to write is not retried until the socket is writable again.
    var canRead: Bool { readable && !(tls?.readWaitsForWritable == true && !writable) }

    /// A TLS connection whose handshake has not completed: nothing HTTP can be said to it yet.
    var isHandshaking: Bool { tls.map { !$0.isEstablished } ?? false }

    /// Whether the connection may be shed to make room at the connection cap: it is waiting on
    /// its client (idle between requests, or a request not yet fully received), not being
    /// handled and not being answered.
    var isSheddable: Bool {
        guard !lingering, !hasPendingOutput else { return false }
        switch machine.phase {
        case .idle, .readingHead, .readingBody: return true
        case .handling, .closing: return false
        }
    }

    /// Idle between requests after answering at least one (HTTP keep-alive).
    var isKeptAliveIdle: Bool { machine.phase == .idle && hasAnswered }

    /// The order in which connections are shed: kept-alive idle ones first, oldest activity
    /// first; then unfinished requests (including a first request not read yet), those that
    /// started longest ago first (the slowest). The loop's clock is coarse, so ties go to the
    /// connection accepted first.
    var sheddingRank: (Int, UInt64, UInt64) {
        isKeptAliveIdle
            ? (0, lastActivityAt, id) : (1, bodyStartedAt ?? headStartedAt ?? acceptedAt, id)
    }

    /// Recomputes the one deadline that applies in the current phase.
    func updateDeadline(now: UInt64) {
        let configuration = core.configuration
        if lingering { return }
        if isHandshaking {
            deadline = acceptedAt &+ configuration.tlsHandshakeTimeout.nanoseconds
            return
        }
        if hasPendingOutput {
            deadline = lastWriteProgressAt &+ configuration.writeTimeout.nanoseconds
            return
        }
        switch machine.phase {
        case .handling, .closing:
            bodyStartedAt = nil
            deadline = .max
        case .idle:
            headStartedAt = nil
            bodyStartedAt = nil
            deadline = lastActivityAt &+ configuration.idleTimeout.nanoseconds
        case .readingHead:
            if headStartedAt == nil { headStartedAt = now }
            deadline = (headStartedAt ?? now) &+ configuration.headerReadTimeout.nanoseconds
        case .readingBody:
            headStartedAt = nil
            if bodyStartedAt == nil { bodyStartedAt = now }
            // Whichever comes first: a pause between reads, or the whole body's allowance.
            deadline = min(
                lastActivityAt &+ configuration.bodyReadTimeout.nanoseconds,
                (bodyStartedAt ?? now) &+ configuration.bodyTimeout.nanoseconds)
        }
    }
}
