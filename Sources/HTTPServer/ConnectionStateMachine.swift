import HTTPCore

/// The decisions of one connection, with no I/O: bytes go in, actions come out, and the
/// ``Connection`` carries them out. Keeping it pure lets every lifecycle rule be tested without
/// sockets.
///
/// ```
///  received ─► nextAction ─► .needMoreData   read more (if the socket has any)
///                          ├► .sendContinue   write "100 Continue", then ask again
///                          ├► .dispatch(req)  run the handler; nothing more until responded
///                          ├► .reject(error)  write the problem and close (input is untrusted now)
///                          ├► .close          close now (peer gone, or draining and idle)
///                          └► .wait           a handler is running
///  responded(keepAlive:) ─► whether the connection stays open
/// ```
struct ConnectionStateMachine {
    /// What the I/O layer should do next.
    enum Action {
        case needMoreData
        case sendContinue
        case dispatch(Request)
        case reject(HTTPParseError)
        case close
        case wait
    }

    /// Which deadline applies now.
    enum Phase: Equatable {
        case idle
        case readingHead
        case readingBody
        case handling
        case closing
    }

    private(set) var parser: RequestParser
    private(set) var inFlight = false
    private(set) var closing = false
    private(set) var peerClosed = false
    private(set) var draining = false
    private var currentKeepAlive = true

    init(limits: RequestParser.Configuration) {
        self.parser = RequestParser(configuration: limits)
    }

    var phase: Phase {
        if closing { return .closing }
        if inFlight { return .handling }
        if parser.isIdle { return .idle }
        return parser.isReadingBody ? .readingBody : .readingHead
    }

    /// Whether reading more input is useful now (not while a handler runs or after an error).
    var wantsInput: Bool { !inFlight && !closing && !peerClosed }

    mutating func received(_ bytes: UnsafeRawBufferPointer) {
        parser.append(bytes)
    }

    /// The peer sent FIN.
    mutating func peerDidClose() {
        peerClosed = true
    }

    /// The server is shutting down: finish what is in progress, then close.
    mutating func startDraining() {
        draining = true
    }

    mutating func nextAction() -> Action {
        if closing || inFlight { return .wait }
        while true {
            let event: RequestParser.Event?
            do {
                event = try parser.next()
            } catch {
                closing = true
                return .reject(error)
            }
            switch event {
            case nil:
                if peerClosed || (draining && parser.isIdle) {
                    closing = true
                    return .close
                }
                return .needMoreData
            case .head(let head):
                if head.expectsContinue && !draining { return .sendContinue }
            case .request(let request):
                inFlight = true
                currentKeepAlive = request.head.keepAlive
                return .dispatch(request)
            }
        }
    }

    /// The handler answered; returns whether the connection stays open after this response.
    mutating func responded() -> Bool {
        inFlight = false
        let keepAlive = currentKeepAlive && !draining && !peerClosed
        if !keepAlive { closing = true }
        return keepAlive
    }

    /// The connection is being closed for a reason outside the protocol (timeout, I/O error).
    mutating func abandon() {
        closing = true
    }
}
