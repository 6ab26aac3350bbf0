// libFuzzer target over the call path's own readers, built by scripts/fuzz.sh together with their
// sources. Oracles beyond "no crash":
// - JSONReader: whatever parses, written by JSONWriter and parsed again, is the same value;
// - AnchoredPattern: for a pattern it accepts (and ICU compiles), it matches exactly the texts
//   ICU matches with the final `$` read as `\z` (ECMA-262's end of input).
// The first byte picks the target; for patterns, a NUL separates the pattern from the text.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let mode = bytes.first else { return 0 }
    let rest = Array(bytes.dropFirst())
    if mode & 1 == 0 {
        guard let value = try? JSONReader.parse(rest) else { return 0 }
        let written = JSONWriter.encode(value)
        guard let again = try? JSONReader.parse(written), again == value else {
            fatalError("JSON does not round-trip: \(String(decoding: written, as: UTF8.self).debugDescription)")
        }
        return 0
    }
    let parts = rest.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
    guard parts.count == 2, parts[0].count <= 64, parts[1].count <= 64,
        let pattern = String(validating: parts[0], as: UTF8.self),
        let text = String(validating: parts[1], as: UTF8.self),
        let anchored = AnchoredPattern(pattern),
        let icu = try? NSRegularExpression(pattern: String(pattern.dropLast()) + "\\z")
    else { return 0 }
    let ours = anchored.matches(text)
    let theirs = icu.firstMatch(in: text, range: NSRange(location: 0, length: text.utf16.count)) != nil
    if ours != theirs {
        fatalError("pattern \(pattern.debugDescription) on \(text.debugDescription): ours \(ours), ICU \(theirs)")
    }
    return 0
}
