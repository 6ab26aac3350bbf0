import Foundation

/// A throwaway certificate authority in a temp directory, made with the openssl CLI: CAs, a
/// server certificate for 127.0.0.1/localhost, and client certificates (also expired ones, and
/// ones from a CA nobody trusts), for the TLS listener's tests.
///
/// ```
///   let pki = try await TestPKI()                       // ca.pem, server.pem/.key
///   try await pki.issue("partner-a", cn: "wechat-city")  // partner-a.pem/.key signed by ca
///   try await pki.issue("stale", cn: "x", days: -1)      // expired yesterday
/// ```
public final class TestPKI: Sendable {
    /// The directory holding every file.
    public let directory: URL
    private let openssl: String

    /// Makes `ca` (trusted), `other-ca` (not trusted) and the server certificate `server`.
    public init() async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("citygate-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        openssl = ExternalProcess.which("openssl") ?? "/usr/bin/openssl"
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(
            to: directory.appendingPathComponent("server.ext"), atomically: true, encoding: .utf8)
        try await authority("ca", cn: "CityGate Test CA")
        try await authority("other-ca", cn: "Other CA")
        try await issue("server", cn: "127.0.0.1", extensions: "server.ext")
    }

    /// Makes a self-signed CA `name.pem`/`name.key` with subject `CN=cn` (an impostor may take
    /// a trusted CA's name).
    public func authority(_ name: String, cn: String) async throws {
        try await run(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=\(cn)", "-keyout", "\(name).key", "-out", "\(name).pem")
    }

    /// Issues `name.pem`/`name.key` for subject `CN=cn[,O=organization]` from `authority`,
    /// valid for `days` (-1: already expired).
    public func issue(
        _ name: String, cn: String, organization: String? = nil, authority: String = "ca", days: Int = 1,
        extensions: String? = nil
    ) async throws {
        let subject = organization.map { "/O=\($0)/CN=\(cn)" } ?? "/CN=\(cn)"
        try await run(
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", subject, "-keyout",
            "\(name).key", "-out", "\(name).csr")
        var signing = [
            "x509", "-req", "-in", "\(name).csr", "-CA", "\(authority).pem", "-CAkey", "\(authority).key",
            "-CAcreateserial", "-days", "\(days)", "-out", "\(name).pem",
        ]
        if let extensions { signing += ["-extfile", extensions] }
        try await run(signing)
    }

    /// The path of a file in the directory.
    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// The bytes of a file in the directory.
    public func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// The SPKI SHA-256 pin of a certificate, base64, computed by the openssl CLI (independently
    /// of the gateway's own computation).
    public func spkiPin(_ name: String) async throws -> String {
        let result = try await ExternalProcess.run(
            "/bin/sh",
            [
                "-c",
                "cd '\(directory.path)' && '\(openssl)' x509 -in '\(name).pem' -pubkey -noout | '\(openssl)' pkey -pubin -outform der | '\(openssl)' dgst -sha256 -binary | base64",
            ])
        guard result.status == 0 else { throw RawClient.Failure(description: "spki pin: \(result.standardError)") }
        return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func run(_ arguments: String...) async throws { try await run(arguments) }

    private func run(_ arguments: [String]) async throws {
        let command = "cd '\(directory.path)' && '\(openssl)' " + arguments.map { "'\($0)'" }.joined(separator: " ")
        let result = try await ExternalProcess.run("/bin/sh", ["-c", command])
        guard result.status == 0 else {
            throw RawClient.Failure(description: "openssl \(arguments[0]) failed: \(result.standardError)")
        }
    }

    deinit { try? FileManager.default.removeItem(at: directory) }
}
