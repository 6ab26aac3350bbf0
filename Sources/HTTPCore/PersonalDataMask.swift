/// Masks what could be a citizen's ID-card number (18 characters: 17 digits and a digit or X,
/// GB 11643) or mainland mobile number (11 digits starting 13–19, optionally after 86) in free text, so a log line
/// never carries one, whatever a caller put into a path, a header or an error.
///
/// Only whole runs of digits count (a longer or shorter run is left alone), so request ids,
/// timestamps and case numbers survive. Names cannot be recognised in free text; the gateway
/// never logs inputs or answers, which is where names would be.
public enum PersonalDataMask {
    /// `text` with every ID number replaced by `[id-number]` and every mobile number by `[phone]`.
    public static func mask(_ text: String) -> String {
        guard text.utf8.count >= 11, hasLongDigitRun(text) else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        var changed = false
        while index < bytes.count {
            guard isDigit(bytes[index]) else {
                out.append(bytes[index])
                index += 1
                continue
            }
            var end = index
            while end < bytes.count && isDigit(bytes[end]) { end += 1 }
            var length = end - index
            // 17 digits followed by X (and not by more letters or digits) is an ID number too.
            if length == 17, end < bytes.count, bytes[end] == UInt8(ascii: "X") || bytes[end] == UInt8(ascii: "x"),
                end + 1 == bytes.count || !isAlphanumeric(bytes[end + 1])
            {
                end += 1
                length = 18
            }
            let isolated = (index == 0 || !isLetter(bytes[index - 1])) && (end == bytes.count || !isLetter(bytes[end]))
            if isolated && length == 18 {
                out += Array("[id-number]".utf8)
                changed = true
            } else if isolated && length == 11 && bytes[index] == UInt8(ascii: "1") && bytes[index + 1] >= 0x33 {
                out += Array("[phone]".utf8)
                changed = true
            } else if isolated && length == 13 && bytes[index] == UInt8(ascii: "8")
                && bytes[index + 1] == UInt8(ascii: "6")
                && bytes[index + 2] == UInt8(ascii: "1") && bytes[index + 3] >= 0x33
            {
                // The same number with China's country code (86…) written in front.
                out += Array("86[phone]".utf8)
                changed = true
            } else {
                out += bytes[index..<end]
            }
            index = end
        }
        return changed ? String(decoding: out, as: UTF8.self) : text
    }

    /// Whether `text` has 11 or more digits in a row, the shortest run `mask` can replace; most
    /// log values have none and are returned without copying.
    private static func hasLongDigitRun(_ text: String) -> Bool {
        // Walked by index (an iterator retains the string; every log value passes here).
        var run = 0
        let view = text.utf8
        var index = view.startIndex
        while index != view.endIndex {
            if isDigit(view[index]) {
                run += 1
                if run >= 11 { return true }
            } else {
                run = 0
            }
            view.formIndex(after: &index)
        }
        return false
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    private static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }
    private static func isAlphanumeric(_ byte: UInt8) -> Bool { isDigit(byte) || isLetter(byte) }
}
