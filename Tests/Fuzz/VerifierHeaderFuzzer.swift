// libFuzzer target over the partner verifiers' parsers (SignatureHeaders, FormEncoding), built by
// scripts/fuzz.sh together with their sources. Oracles beyond "no crash":
// - form encoding round-trips: whatever decodes, re-encodes and decodes to the same pairs;
// - parsed signature headers never yield empty versions, signatures or timestamps.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let text = String(validating: bytes, as: UTF8.self) else { return 0 }

    if let tokens = SignatureHeaders.standardWebhooks(text) {
        for token in tokens where token.version.isEmpty || token.signature.isEmpty {
            fatalError("empty version or signature from \(text.debugDescription)")
        }
    }
    if let generic = SignatureHeaders.generic(text) {
        if generic.timestamp.isEmpty || generic.signatures.isEmpty || generic.signatures.contains(where: \.isEmpty) {
            fatalError("generic header parsed into empty parts from \(text.debugDescription)")
        }
    }
    if let pairs = FormEncoding.decodePairs(text) {
        let again = FormEncoding.decodePairs(FormEncoding.encode(pairs))
        guard let again, again.count == pairs.count, zip(again, pairs).allSatisfy({ $0.0 == $1.0 && $0.1 == $1.1 })
        else {
            fatalError("form encoding does not round-trip for \(text.debugDescription)")
        }
    }
    _ = SignatureHeaders.xmlElement("Encrypt", in: text)
    return 0
}
