import HTTPCore
import Synchronization

/// What the loops share about one listening server: its socket, configuration, responder and
/// counters.
final class ServerCore: Sendable {
    let configuration: HTTPServer.Configuration
    let responder: any Responder
    let listener: ListeningSocket
    let token: UInt64
    let openConnections = Atomic<Int>(0)
    let draining = Atomic<Bool>(false)

    init(configuration: HTTPServer.Configuration, responder: any Responder, listener: ListeningSocket, token: UInt64) {
        self.configuration = configuration
        self.responder = responder
        self.listener = listener
        self.token = token
    }
}
