import COpenSSL

/// A failed cryptographic operation, with OpenSSL's error queue drained into `details`.
///
/// Messages name the operation, never key material or data.
public struct CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The operation that failed.
    public var operation: String
    /// OpenSSL's error strings, oldest first (empty when the failure was ours, e.g. bad input).
    public var details: [String]

    /// Creates an error for `operation`, draining OpenSSL's thread-local error queue.
    public init(_ operation: String) {
        self.operation = operation
        var details: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            ERR_error_string_n(code, &buffer, buffer.count)
            details.append(String(cString: buffer))
        }
        self.details = details
    }

    /// An error of our own (no OpenSSL queue involved).
    public init(operation: String, detail: String) {
        self.operation = operation
        self.details = [detail]
    }

    /// `operation: details`.
    public var description: String {
        details.isEmpty ? operation : "\(operation): \(details.joined(separator: "; "))"
    }
}

/// Checks an OpenSSL return value where 1 means success.
@inline(__always)
func check(_ result: Int32, _ operation: @autoclosure () -> String) throws(CryptoError) {
    guard result == 1 else { throw CryptoError(operation()) }
}
