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
    /// Open connections per client address (IP without port), across loops.
    private let perAddress = Mutex<[String: Int]>([:])

    init(configuration: HTTPServer.Configuration, responder: any Responder, listener: ListeningSocket, token: UInt64) {
        self.configuration = configuration
        self.responder = responder
        self.listener = listener
        self.token = token
    }

    /// Counts one more connection from `host`, unless it already has its most.
    func admit(host: String) -> Bool {
        perAddress.withLock { counts in
            let open = counts[host, default: 0]
            guard open < configuration.maxConnectionsPerAddress else { return false }
            counts[host] = open + 1
            return true
        }
    }

    /// Counts one connection from `host` fewer.
    func release(host: String) {
        perAddress.withLock { counts in
            guard let open = counts[host] else { return }
            counts[host] = open > 1 ? open - 1 : nil
        }
    }
}
