// libFuzzer target over every partner verifier, built by scripts/fuzz.sh with
// `swift build -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING` (shared/NOTES.md: SwiftPM renames
// `main`, so top-level code hands control to libFuzzer's driver). In a normal build it only says so.
//
// Input layout: byte 0 picks the verifier, then NUL-separated fields (headers and query values,
// body). Oracles: no crash, and random input never verifies (it would mean a forgery).
import CityGate
import Cryptography
import Foundation
import HTTPCore

#if FUZZING
    enum Fixtures {
        /// Every registered scheme with freshly generated keys: a new scheme is fuzzed as soon as
        /// it is in ``PartnerSchemes/all``.
        static let verifiers: [any PartnerVerifier] = PartnerSchemes.all.compactMap { scheme in
            (try? scheme.fixture())?.makeVerifier(window: 300)
        }
    }

    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
        guard size > 1 else { return 0 }
        let bytes = Array(UnsafeBufferPointer(start: data, count: size))
        let fields = bytes[1...].split(separator: 0, maxSplits: 5, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        func field(_ index: Int) -> String { index < fields.count ? fields[index] : "" }
        let headers: Headers = [
            "webhook-id": field(0), "webhook-timestamp": field(1), "webhook-signature": field(2),
            "X-Signature": field(2),
            "Wechatpay-Timestamp": field(1), "Wechatpay-Nonce": field(0), "Wechatpay-Signature": field(2),
            "Wechatpay-Serial": WeChatPayScheme.fixtureSerial,
        ]
        let request = SignedRequest(
            method: bytes[0] & 1 == 0 ? "POST" : "GET", path: "/e", rawQuery: field(3), headers: headers,
            body: Array(field(4).utf8))
        let verifier = Fixtures.verifiers[Int(bytes[0]) % Fixtures.verifiers.count]
        if let verified = try? verifier.verify(request, now: Int64(field(1)) ?? 0) {
            fatalError("random input verified as key \(verified.keyId)")
        }
        return 0
    }

    @_silgen_name("LLVMFuzzerRunDriver")
    func runFuzzerDriver(
        _ argc: UnsafeMutablePointer<Int32>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
    ) -> Int32

    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(runFuzzerDriver(&argc, &argv, fuzzOneInput))
#else
    print("citygate-verifier-fuzzer: build it with `make fuzz` (needs -DFUZZING and the fuzzer sanitizer)")
#endif
