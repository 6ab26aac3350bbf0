import CityGate
import Foundation
import HTTPCore
import TestSupport
import Testing

/// Every scheme in ``PartnerSchemes/all`` through the same tables, so a scheme added to the
/// registry is covered without a line here: its own sample signed and verified, every field of
/// the signed request removed or changed (the negative table), a few hundred random mutations (a
/// seeded fuzz), its docs row and vectors. The property for mutations is the one that matters
/// for a gateway: a changed request is refused, or it is accepted as exactly the same event
/// (same replay key, type, id and fields); never as a different one.
struct PartnerSchemeRegistryTests {
    static let names: [String] = PartnerSchemes.all.map { $0.name }
    static let now: Int64 = 1_764_000_000
    static let window: Int64 = 300

    /// A scheme's fixture, its signed sample and what verification made of it.
    struct Signed {
        let scheme: any PartnerScheme
        let request: SignedRequest
        let verifier: any PartnerVerifier
        let verified: VerifiedRequest
        let event: EventPayload
    }

    static func signed(_ name: String) throws -> Signed {
        let type = try #require(PartnerSchemes.named(name))
        let scheme = try type.fixture()
        var request = SignedRequest(method: "POST", path: "/v1/partners/p/events", body: try scheme.sampleEvent())
        try scheme.sign(&request, keyId: nil, now: now, nonce: "0123456789abcdef01234567")
        let verifier = scheme.makeVerifier(window: window)
        let verified = try verifier.verify(request, now: now)
        let event = try scheme.readEvent(body: request.body, verified: verified)
        return Signed(scheme: scheme, request: request, verifier: verifier, verified: verified, event: event)
    }

    /// Nil when `mutated` is refused or is the same event; otherwise what got through.
    static func forgery(_ signed: Signed, _ mutated: SignedRequest) -> String? {
        guard let verified = try? signed.verifier.verify(mutated, now: now) else { return nil }
        guard verified.replayKey == signed.verified.replayKey else {
            return "accepted under another replay key (\(verified.replayKey))"
        }
        guard let event = try? signed.scheme.readEvent(body: mutated.body, verified: verified) else { return nil }
        guard event.type == signed.event.type, event.key == signed.event.key,
            NSDictionary(dictionary: event.fields).isEqual(to: signed.event.fields)
        else { return "accepted as a different event: \(event.type) \(event.key) \(event.fields)" }
        return nil
    }

    /// `text` with the character at `offset` replaced by a different one of the same kind.
    static func changed(_ text: String, at offset: Int) -> String {
        var characters = Array(text)
        guard !characters.isEmpty else { return "x" }
        let index = min(max(0, offset), characters.count - 1)
        let old = characters[index]
        characters[index] = old.isNumber ? (old == "7" ? "3" : "7") : (old == "q" ? "z" : "q")
        return String(characters)
    }

    @Test
    func registryNamesAreUniqueDocumentedAndKnownToTheLoader() throws {
        #expect(Set(Self.names).count == Self.names.count)
        let reference = try String(
            contentsOf: ExternalProcess.packageRoot.appendingPathComponent("docs/verification.md"), encoding: .utf8)
        for name in Self.names {
            #expect(reference.contains("| `\(name)` |"), "docs/verification.md has no row for \(name)")
            #expect(PartnerSchemes.named(name) != nil)
        }
        #expect(PartnerSchemes.named("rot13") == nil)
        // Every public vector file belongs to a registered scheme (its tests live beside the scheme's).
        let vectors = ExternalProcess.packageRoot.appendingPathComponent("Tests/Vectors")
        for file in try FileManager.default.contentsOfDirectory(atPath: vectors.path) where file.hasSuffix(".json") {
            #expect(Self.names.contains(String(file.dropLast(5))), "vector file \(file) names no registered scheme")
        }
    }

    /// The partner-file reference in docs/manifests.md names every common field and, per scheme,
    /// every key member and section the plugin accepts.
    @Test
    func thePartnerFileReferenceMatchesTheLoaderAndThePlugins() throws {
        let documented = try ManifestReferenceTests.documentedFields(after: "## `partners/<id>.json`")
        #expect(documented == PartnerConfiguration.commonFields)
        let text = try String(
            contentsOf: ExternalProcess.packageRoot.appendingPathComponent("docs/manifests.md"), encoding: .utf8)
        let section = text.components(separatedBy: "## `partners/<id>.json`").last ?? ""
        for scheme in PartnerSchemes.all {
            let row = section.split(separator: "\n").first { $0.hasPrefix("| `\(scheme.name)` |") }
            guard let row else {
                Issue.record("docs/manifests.md has no partner-file row for \(scheme.name)")
                continue
            }
            for field in scheme.keyFields.union(scheme.sections) {
                #expect(row.contains("`\(field)`"), "\(scheme.name): `\(field)` is not documented")
            }
        }
    }

    @Test(arguments: names)
    func signsAndVerifiesItsOwnSample(name: String) throws {
        let signed = try Self.signed(name)
        #expect(signed.verified.keyId == "fixture")
        #expect(signed.verified.timestamp == nil || signed.verified.timestamp == Self.now)
        #expect(signed.event.type == "citygate.test")
        #expect(!signed.event.key.isEmpty)
        #expect((200..<300).contains(signed.scheme.accepted().status.code))
        let problem = Problem(
            slug: "inbox-unavailable", title: "Service Unavailable", status: 503, detail: "d", requestId: "r")
        let refused = signed.scheme.refused(problem)
        #expect(refused.status.code == 503)
        #expect(!refused.body.isEmpty)
        #expect(signed.scheme.replayLifetime(window: Self.window) >= 2 * Self.window)
        #expect(signed.scheme.keyIds == ["fixture"])
        #expect(throws: SigningFailure.self) {
            var request = SignedRequest(method: "POST", path: "/e", body: try signed.scheme.sampleEvent())
            try signed.scheme.sign(&request, keyId: "no-such-key", now: Self.now, nonce: "n")
        }
    }

    @Test(arguments: names)
    func othersKeysAndStaleTimesAreRefused(name: String) throws {
        let signed = try Self.signed(name)
        let stranger = try #require(PartnerSchemes.named(name)).fixture().makeVerifier(window: Self.window)
        #expect(throws: VerificationFailure.self) { try stranger.verify(signed.request, now: Self.now) }
        if signed.verified.timestamp != nil {
            for skew in [Self.window + 1, -(Self.window + 1), 86_400, -86_400] {
                #expect(throws: VerificationFailure.self, "skew \(skew)") {
                    try signed.verifier.verify(signed.request, now: Self.now + skew)
                }
            }
        }
    }

    /// The negative table: each header, query parameter, the method and body positions, removed or
    /// changed one at a time.
    @Test(arguments: names)
    func everySingleChangeIsRefusedOrTheSameEvent(name: String) throws {
        let signed = try Self.signed(name)
        var cases: [(String, SignedRequest)] = []
        for field in signed.request.headers {
            var removed = signed.request
            removed.headers.remove(name: field.name)
            cases.append(("without \(field.name)", removed))
            let length = field.value.count
            for offset in Set([0, length / 2, length - 1]) {
                var edited = signed.request
                edited.headers.remove(name: field.name)
                edited.headers.add(name: field.name, value: Self.changed(field.value, at: offset))
                cases.append(("\(field.name) changed at \(offset)", edited))
            }
        }
        let query = signed.request.rawQuery.flatMap { FormEncoding.decodePairs($0) } ?? []
        for (index, pair) in query.enumerated() {
            var others = query
            others.remove(at: index)
            var removed = signed.request
            removed.rawQuery = FormEncoding.encode(others)
            cases.append(("without ?\(pair.0)", removed))
            var changed = query
            changed[index].1 = Self.changed(pair.1, at: pair.1.count / 2)
            var edited = signed.request
            edited.rawQuery = FormEncoding.encode(changed)
            cases.append(("?\(pair.0) changed", edited))
        }
        let body = signed.request.body
        for offset in stride(from: 0, to: body.count, by: max(1, body.count / 48)) {
            var flipped = signed.request
            flipped.body[offset] ^= 0x01
            cases.append(("body bit flipped at \(offset)", flipped))
        }
        var truncated = signed.request
        truncated.body.removeLast(min(1, body.count))
        cases.append(("body truncated", truncated))
        var extended = signed.request
        extended.body.append(0x20)
        cases.append(("body extended", extended))
        var emptied = signed.request
        emptied.body = []
        cases.append(("body emptied", emptied))
        var otherMethod = signed.request
        otherMethod.method = "PUT"
        cases.append(("method changed", otherMethod))
        // Another event in the body, with any subset of the query parameters taken away (a
        // scheme with several modes must not fall back to one that does not sign the body).
        let other = try Self.otherEvent(signed)
        for mask in 0..<(1 << min(query.count, 8)) {
            var substituted = signed.request
            substituted.body = other
            substituted.rawQuery = FormEncoding.encode(
                query.enumerated().filter { mask & (1 << $0.offset) == 0 }.map(\.element))
            cases.append(("body replaced, query mask \(mask)", substituted))
        }

        for (label, request) in cases {
            #expect(Self.forgery(signed, request) == nil, "\(name): \(label)")
        }
        let unsigned = SignedRequest(method: "POST", path: signed.request.path, body: other)
        #expect(throws: VerificationFailure.self, "\(name): an unsigned request must be refused") {
            try signed.verifier.verify(unsigned, now: Self.now)
        }
    }

    /// The scheme's sample event with another type: what a forger would like accepted.
    static func otherEvent(_ signed: Signed) throws -> [UInt8] {
        let text = String(decoding: try signed.scheme.sampleEvent(), as: UTF8.self)
        #expect(text.contains("citygate.test"), "a scheme's sample event has type citygate.test in clear")
        return Array(text.replacingOccurrences(of: "citygate.test", with: "citygate.evil").utf8)
    }

    /// The seeded fuzz: random byte edits across headers, query and body.
    @Test(arguments: names)
    func randomMutationsNeverForgeAnEvent(name: String) throws {
        let signed = try Self.signed(name)
        var generator = SplitMix64(seed: UInt64(name.utf8.reduce(17) { $0 &* 31 &+ Int($1) }.magnitude))
        for round in 0..<400 {
            var request = signed.request
            for _ in 0...Int.random(in: 0...2, using: &generator) {
                Self.mutate(&request, using: &generator)
            }
            if let forgery = Self.forgery(signed, request) {
                Issue.record("\(name) round \(round): \(forgery)")
                return
            }
        }
    }

    static func mutate(_ request: inout SignedRequest, using generator: inout SplitMix64) {
        func edit(_ bytes: [UInt8]) -> [UInt8] {
            var bytes = bytes
            let byte = UInt8.random(in: 0x20...0x7E, using: &generator)
            let index = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<4, using: &generator) {
            case 0 where !bytes.isEmpty: bytes[index] = byte
            case 1: bytes.insert(byte, at: index)
            case 2 where !bytes.isEmpty: bytes.remove(at: index)
            default: bytes += bytes.prefix(Int.random(in: 0...4, using: &generator))
            }
            return bytes
        }
        let fields = Array(request.headers)
        switch Int.random(in: 0..<3, using: &generator) {
        case 0 where !fields.isEmpty:
            let field = fields[Int.random(in: 0..<fields.count, using: &generator)]
            request.headers.remove(name: field.name)
            request.headers.add(
                name: field.name, value: String(decoding: edit(Array(field.value.utf8)), as: UTF8.self))
        case 1 where request.rawQuery != nil:
            request.rawQuery = String(decoding: edit(Array((request.rawQuery ?? "").utf8)), as: UTF8.self)
        default:
            request.body = edit(request.body)
        }
    }
}

/// A small seeded generator, so a failing fuzz round can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
