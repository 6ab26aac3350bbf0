import Foundation

/// Parsers for the signature-bearing parts of each scheme: pure string functions with no
/// cryptography, so they can be fuzzed on their own (Tests/Fuzz/VerifierHeaderFuzzer.swift).
public enum SignatureHeaders {
    /// One `version,signature` token of a Standard Webhooks `webhook-signature` header.
    public struct VersionedSignature: Sendable, Equatable {
        /// `v1`, `v1a`, or an unknown version.
        public var version: String
        /// The base64 signature text.
        public var signature: String
    }

    /// Splits `webhook-signature` (space-separated `v1,<base64>` tokens, several during key
    /// rotation). Tokens without a comma are malformed; nil when nothing well-formed remains.
    public static func standardWebhooks(_ header: String) -> [VersionedSignature]? {
        // On the UTF-8 bytes: the header is ASCII when well-formed, and Character splitting costs
        // a grapheme-break check per byte.
        var tokens: [VersionedSignature] = []
        for token in header.utf8.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true) {
            guard let comma = token.firstIndex(of: UInt8(ascii: ",")), comma != token.startIndex else { continue }
            let signature = token[token.index(after: comma)...]
            guard !signature.isEmpty else { continue }
            tokens.append(
                VersionedSignature(
                    version: String(decoding: token[..<comma], as: UTF8.self),
                    signature: String(decoding: signature, as: UTF8.self)))
        }
        return tokens.isEmpty ? nil : tokens
    }

    /// The generic scheme's `X-Signature: t=<unix>,v1=<hex>[,v1=<hex>…][,kid=<id>]`.
    public struct GenericSignature: Sendable, Equatable {
        /// The timestamp text.
        public var timestamp: String
        /// One or more hex signatures.
        public var signatures: [String]
        /// The key id, when the sender named one.
        public var keyId: String?
    }

    /// Parses the generic scheme's header; nil when `t` is missing or repeated, no `v1` is
    /// present, or an element is not `name=value`.
    public static func generic(_ header: String) -> GenericSignature? {
        var timestamp: String?
        var signatures: [String] = []
        var keyId: String?
        for element in header.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = element.trimmingCharacters(in: " \t")
            guard let equals = trimmed.firstIndex(of: "="), equals != trimmed.startIndex else { return nil }
            let name = trimmed[..<equals]
            let value = String(trimmed[trimmed.index(after: equals)...])
            guard !value.isEmpty else { return nil }
            switch name {
            case "t":
                guard timestamp == nil else { return nil }
                timestamp = value
            case "v1": signatures.append(value)
            case "kid":
                guard keyId == nil else { return nil }
                keyId = value
            default: continue  // unknown elements are ignored, for future versions
            }
        }
        guard let timestamp, !signatures.isEmpty else { return nil }
        return GenericSignature(timestamp: timestamp, signatures: signatures, keyId: keyId)
    }

    /// The text of the first `<name>` element of a WeChat XML envelope, CDATA unwrapped. WeChat
    /// envelopes are flat; this reads only what verification needs, before any XML parser runs.
    public static func xmlElement(_ name: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(name)>"),
            let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex)
        else { return nil }
        var content = xml[open.upperBound..<close.lowerBound].trimmingCharacters(in: " \t\r\n")[...]
        if content.hasPrefix("<![CDATA["), content.hasSuffix("]]>") {
            content = content.dropFirst(9).dropLast(3)
        }
        return String(content)
    }
}

extension StringProtocol {
    /// The string without leading and trailing characters from `set`.
    func trimmingCharacters(in set: String) -> String {
        var view = Substring(self)
        while let first = view.first, set.contains(first) { view = view.dropFirst() }
        while let last = view.last, set.contains(last) { view = view.dropLast() }
        return String(view)
    }
}
