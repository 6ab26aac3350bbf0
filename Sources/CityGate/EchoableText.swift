/// What of a caller's own text may appear in an error: nothing but short plain identifiers.
///
/// Problem details and `WWW-Authenticate` never echo what a caller sent (a crafted `kid`, a
/// header, a path segment could carry markup, control bytes, personal data or megabytes); a
/// value is repeated only when it is a short identifier made of `A–Z a–z 0–9 . _ : -`, which
/// can carry none of that and helps the caller see which name was wrong.
enum EchoableText {
    /// `text` when it is 1–64 identifier characters; otherwise nil.
    static func identifier<Text: StringProtocol>(_ text: Text) -> String? {
        guard !text.isEmpty, text.utf8.count <= 64,
            text.utf8.allSatisfy({ byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x2E || byte == 0x5F || byte == 0x3A || byte == 0x2D
            })
        else { return nil }
        return String(text)
    }

    /// `'text'` when it is an identifier (see above), else `fallback`.
    static func quoted<Text: StringProtocol>(_ text: Text, or fallback: String) -> String {
        identifier(text).map { "'\($0)'" } ?? fallback
    }

    /// `text` reduced to what an RFC 6750 §3 `error_description` may hold (printable ASCII
    /// without `"` and `\`): anything else becomes `?`.
    static func challengeDescription(_ text: String) -> String {
        String(
            decoding: text.utf8.map { byte in
                byte >= 0x20 && byte <= 0x7E && byte != 0x22 && byte != 0x5C ? byte : UInt8(ascii: "?")
            }, as: UTF8.self)
    }
}
