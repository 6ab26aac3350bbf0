import Foundation
import TestSupport
import Testing

/// `citygate validate` on the unchanged sample tree, from manifests folders of every path
/// length from 10 to 60 characters, 200 runs in all.
///
/// Certificates were read from a BIO that pointed into a Swift array's storage after the
/// `withUnsafeBytes` closure had returned; whether OpenSSL then read freed memory depended on
/// where the allocator had put things, which the folder path's length changed. It failed 5–9 of
/// 30 runs at some lengths ("$.keys[0].certificate: must resolve to a PEM X.509 certificate").
/// The ASan run in `make test` (`make test-sanitizers`) catches the same fault in process.
struct ValidatePathLengthTests {
    /// The release binary `make run` uses, which `make test` builds first: the fault showed in
    /// its memory layout, not the debug build's. The debug binary when there is none.
    static var binary: String {
        let release = ExternalProcess.packageRoot.appendingPathComponent(".build/release/citygate").path
        return FileManager.default.isExecutableFile(atPath: release) ? release : CommandLineTests.binary
    }

    @Test
    func validateNeverFailsWhateverTheFoldersPathLength() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("cg-lengths-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: base) }
        // Partner files name their keys as ../../mocks/keys/…: the trees' parent holds `mocks`.
        try FileManager.default.createSymbolicLink(
            at: base.appendingPathComponent("mocks"),
            withDestinationURL: ExternalProcess.packageRoot.appendingPathComponent("mocks"))
        let lengths = Array(10...60)
        for length in lengths {
            try FileManager.default.copyItem(
                at: ManifestSetTests.sample, to: base.appendingPathComponent(String(repeating: "m", count: length)))
        }
        var failures: [String] = []
        for run in 0..<200 {
            // Relative to the working directory, so the path given is exactly `length` characters.
            let folder = String(repeating: "m", count: lengths[run % lengths.count])
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.binary)
            process.arguments = ["validate", "--manifests", folder]
            process.currentDirectoryURL = base
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            if process.terminationStatus != 0 || !text.hasPrefix("ok: ") {
                failures.append("length \(folder.count): status \(process.terminationStatus): \(text.prefix(300))")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) of 200 runs failed: \(failures.prefix(5))")
    }
}
