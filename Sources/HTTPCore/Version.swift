/// The HTTP version of a message. Only 1.0 and 1.1 are spoken on the wire here.
public struct Version: Sendable, Hashable, CustomStringConvertible {
    /// The major digit.
    public var major: Int
    /// The minor digit.
    public var minor: Int

    /// Creates a version from its two digits.
    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// HTTP/1.0.
    public static let http10 = Version(major: 1, minor: 0)
    /// HTTP/1.1.
    public static let http11 = Version(major: 1, minor: 1)

    /// `HTTP/x.y`.
    public var description: String { "HTTP/\(major).\(minor)" }
}
