/// Minimal JSON text helpers for the few bodies HTTPCore writes itself (no Foundation here).
public enum JSONText {
    /// `value` as a JSON string literal, escaped per RFC 8259 §7.
    public static func quoted(_ value: String) -> String {
        var out = "\""
        out.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    out += "\\u" + hex4(scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
        return out
    }

    /// Appends `value` as a JSON string literal to `bytes`. Values without quotes, backslashes,
    /// controls or U+2028/U+2029 (nearly all) are copied without building an escaped copy.
    public static func appendQuoted(_ value: String, to bytes: inout [UInt8]) {
        // 0xE2 leads the UTF-8 of U+2028/U+2029 (and of other characters: then `quoted` decides).
        // Walked by index: an iterator over the view retained the string on every call, and
        // every log line quotes a dozen values.
        let view = value.utf8
        var index = view.startIndex
        while index != view.endIndex {
            let byte = view[index]
            if byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0xE2 {
                bytes.append(contentsOf: quoted(value).utf8)
                return
            }
            view.formIndex(after: &index)
        }
        bytes.append(0x22)
        bytes.append(contentsOf: value.utf8)
        bytes.append(0x22)
    }

    private static func hex4(_ value: UInt32) -> String {
        let digits = Array("0123456789abcdef")
        var text = ""
        for shift in stride(from: 12, through: 0, by: -4) {
            text.append(digits[Int((value >> UInt32(shift)) & 0xF)])
        }
        return text
    }
}
