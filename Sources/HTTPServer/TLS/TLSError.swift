import COpenSSL

/// Why a certificate, key or CA bundle could not be made into a TLS server context: what was
/// being done and OpenSSL's reason. Never carries key material.
public struct TLSError: Error, Sendable, CustomStringConvertible {
    /// What was being loaded or checked (`certificate`, `private key`, `client CA`, …).
    public let subject: String
    /// What is wrong with it.
    public let reason: String

    /// Creates an error.
    public init(_ subject: String, _ reason: String) {
        self.subject = subject
        self.reason = reason
    }

    /// An error carrying the reason OpenSSL left on this thread's error queue (which is emptied,
    /// so it cannot be mistaken for a later call's).
    static func openSSL(_ subject: String, _ what: String) -> TLSError {
        var last: UInt = 0
        while case let code = ERR_get_error(), code != 0 { last = code }
        guard last != 0, let text = ERR_reason_error_string(last) else { return TLSError(subject, what) }
        return TLSError(subject, "\(what): \(String(cString: text))")
    }

    /// `subject: reason`.
    public var description: String { "\(subject): \(reason)" }
}
