/// Byte classes from RFC 9110 §5.6 and RFC 9112, as lookup tables so the parser's inner loops
/// are one load and one compare per byte.
public enum ByteClass {
    /// `tchar` (RFC 9110 §5.6.2): the characters allowed in a token (methods, field names).
    static let token: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for byte in UInt8(ascii: "0")...UInt8(ascii: "9") { table[Int(byte)] = true }
        for byte in UInt8(ascii: "a")...UInt8(ascii: "z") { table[Int(byte)] = true }
        for byte in UInt8(ascii: "A")...UInt8(ascii: "Z") { table[Int(byte)] = true }
        for byte in "!#$%&'*+-.^_`|~".utf8 { table[Int(byte)] = true }
        return table
    }()

    /// Bytes allowed inside a field value (RFC 9110 §5.5): VCHAR, obs-text, SP and HTAB.
    static let fieldValue: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for byte in 0x21...0x7E { table[byte] = true }
        for byte in 0x80...0xFF { table[byte] = true }
        table[0x20] = true
        table[0x09] = true
        return table
    }()

    /// Bytes allowed in a request-target: the URI characters of RFC 3986 §2, without the
    /// fragment delimiter `#`, which never travels in a request (RFC 9112 §3.2).
    static let requestTarget: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for byte in UInt8(ascii: "0")...UInt8(ascii: "9") { table[Int(byte)] = true }
        for byte in UInt8(ascii: "a")...UInt8(ascii: "z") { table[Int(byte)] = true }
        for byte in UInt8(ascii: "A")...UInt8(ascii: "Z") { table[Int(byte)] = true }
        for byte in "-._~:/?[]@!$&'()*+,;=%".utf8 { table[Int(byte)] = true }
        return table
    }()

    /// Bytes allowed in a Host value: reg-name, IPv4, IP-literal and port characters.
    static let host: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for byte in UInt8(ascii: "0")...UInt8(ascii: "9") { table[Int(byte)] = true }
        for byte in UInt8(ascii: "a")...UInt8(ascii: "z") { table[Int(byte)] = true }
        for byte in UInt8(ascii: "A")...UInt8(ascii: "Z") { table[Int(byte)] = true }
        for byte in "-._~!$&'()*+,;=:[]%".utf8 { table[Int(byte)] = true }
        return table
    }()

    /// Whether `byte` is a `tchar`.
    @inline(__always)
    public static func isToken(_ byte: UInt8) -> Bool { token[Int(byte)] }

    /// ASCII lowercase of one byte.
    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    /// The value of one hexadecimal digit, or nil.
    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt64? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt64(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt64(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt64(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// Whether two ASCII strings are equal ignoring case.
    static func equalsIgnoringCase(_ value: Substring, _ lowercaseLiteral: String) -> Bool {
        Headers.equalNames(String(value), lowercaseLiteral)
    }
}
