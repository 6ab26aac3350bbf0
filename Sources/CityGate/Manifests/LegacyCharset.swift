import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Character sets of legacy government systems (GBK, GB18030, GB2312) converted to and from
/// UTF-8 with glibc's iconv: no new dependency. A backend operation names its charset
/// (`request.charset`); an answer's charset comes from its `Content-Type`, its XML declaration,
/// or the operation's.
enum LegacyCharset {
    /// The charsets a manifest may name (upper-case), UTF-8 first.
    static let supported = ["UTF-8", "GBK", "GB18030", "GB2312"]

    /// The canonical name of `name` (any case, `utf8` as `UTF-8`), nil when not supported.
    static func canonical(_ name: String) -> String? {
        let upper = name.uppercased().trimmingCharacters(in: " \"'")
        if upper == "UTF8" { return "UTF-8" }
        return supported.contains(upper) ? upper : nil
    }

    /// `text` in `charset`; nil when a character has no encoding there (never silently replaced:
    /// a name sent with a `?` in it would be another name).
    static func encode(_ text: String, to charset: String) -> [UInt8]? {
        if charset == "UTF-8" { return Array(text.utf8) }
        return convert(Array(text.utf8), from: "UTF-8", to: charset)
    }

    /// `bytes` in `charset` as text; nil when they are not valid in it.
    static func decode(_ bytes: [UInt8], from charset: String) -> String? {
        if charset == "UTF-8" { return String(validating: bytes, as: UTF8.self) }
        return convert(bytes, from: charset, to: "UTF-8").flatMap { String(validating: $0, as: UTF8.self) }
    }

    private static func convert(_ input: [UInt8], from source: String, to target: String) -> [UInt8]? {
        let descriptor = iconv_open(target, source)
        // iconv_open reports failure as (iconv_t)-1.
        guard let descriptor, Int(bitPattern: descriptor) != -1 else { return nil }
        defer { iconv_close(descriptor) }
        if input.isEmpty { return [] }
        var output = [UInt8](repeating: 0, count: input.count * 4 + 16)
        var source = input
        let produced: Int? = source.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                var inPointer = UnsafeMutableRawPointer(inBuffer.baseAddress)?.assumingMemoryBound(to: CChar.self)
                var inLeft = inBuffer.count
                var outPointer = UnsafeMutableRawPointer(outBuffer.baseAddress)?.assumingMemoryBound(to: CChar.self)
                var outLeft = outBuffer.count
                // Four bytes out per byte in is more than any of these conversions needs, so one
                // call converts everything or meets an invalid sequence.
                let result = iconv(descriptor, &inPointer, &inLeft, &outPointer, &outLeft)
                guard result != -1, inLeft == 0 else { return nil }
                return outBuffer.count - outLeft
            }
        }
        guard let produced else { return nil }
        return Array(output.prefix(produced))
    }
}
