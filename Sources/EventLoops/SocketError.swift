#if canImport(Glibc)
    import Glibc
#endif

/// A failed system call: which call, and the errno it left.
public struct SocketError: Error, Sendable, CustomStringConvertible {
    /// The system call or operation that failed.
    public var call: String
    /// The errno value (0 when the failure is not from errno, e.g. a bad address string).
    public var code: Int32
    /// Extra context, such as the address being bound.
    public var context: String

    /// Creates an error for `call` with `code`.
    public init(call: String, code: Int32, context: String = "") {
        self.call = call
        self.code = code
        self.context = context
    }

    /// `call(context): strerror`.
    public var description: String {
        let reason = code == 0 ? "invalid argument" : String(cString: strerror(code))
        return context.isEmpty ? "\(call): \(reason)" : "\(call)(\(context)): \(reason)"
    }
}
