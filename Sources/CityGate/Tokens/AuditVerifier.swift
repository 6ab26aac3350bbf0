import Cryptography
import Foundation
import PostgresClient
import Store

/// `citygate audit verify`: walks an audit chain and its seals and names the first break.
///
/// - `--data DIR`: one instance's chain in `DIR/gateway.db`; the public key defaults to the
///   directory's own `audit-signing-key.pub`. A copy kept elsewhere is the stronger check, since
///   whoever could edit the database could also have replaced that file.
/// - `--postgres URL`: the chain every instance shares; each instance sealed it with its own
///   key, so every instance's public key is given (`--public-key` once per instance), from
///   outside the database: the database holds no key it could be checked against.
public enum AuditVerifier {
    /// The outcome: whether the chain is intact, and a report naming what was checked or the
    /// first broken entry.
    public struct Report: Sendable {
        /// True when every entry and seal holds.
        public var intact: Bool
        /// One line for people.
        public var text: String
    }

    /// Verifies `dataDirectory/gateway.db` against `publicKeyFiles` (by default the directory's
    /// own public key). Run it on a stopped gateway or a copy of the directory: a running
    /// gateway holds its database exclusively.
    public static func verify(dataDirectory: String, publicKeyFiles: [String] = []) -> Report {
        let keys: AuditChain.PublicKeys
        switch load(publicKeyFiles.isEmpty ? [dataDirectory + "/audit-signing-key.pub"] : publicKeyFiles) {
        case .keys(let loaded): keys = loaded
        case .unreadable(let report): return report
        }
        let path = dataDirectory + "/gateway.db"
        guard FileManager.default.fileExists(atPath: path) else {
            return Report(intact: false, text: "\(path): does not exist")
        }
        do {
            let database = try Database(path: path)
            let result = try AuditChain.verify(database: database, keys: keys)
            return Report(intact: result.broken == nil, text: result.description)
        } catch {
            return Report(intact: false, text: "\(path): cannot be read (\(error))")
        }
    }

    /// Verifies the shared chain in the PostgreSQL database `postgres` names (a URL, or
    /// `env:NAME` / `file:PATH`, which keep the password out of the process list) against every
    /// instance's public key (at least one).
    public static func verify(postgres: String, publicKeyFiles: [String]) -> Report {
        var url = postgres
        if let reference = SecretReference(postgres, relativeTo: FileManager.default.currentDirectoryPath) {
            switch reference.resolve(environment: ProcessInfo.processInfo.environment) {
            case .success(let resolved): url = resolved
            case .failure(let unresolved): return Report(intact: false, text: "--postgres: \(unresolved.message)")
            }
        }
        guard !publicKeyFiles.isEmpty else {
            return Report(
                intact: false,
                text:
                    "--public-key: the shared chain is checked against each instance's audit-signing-key.pub; give at least one"
            )
        }
        let keys: AuditChain.PublicKeys
        switch load(publicKeyFiles) {
        case .keys(let loaded): keys = loaded
        case .unreadable(let report): return report
        }
        do {
            let result = try SharedAuditLog.verify(url: url, keys: keys)
            return Report(intact: result.broken == nil, text: result.description)
        } catch {
            // The code only: the server's message may quote the URL's parts.
            return Report(intact: false, text: "the shared audit chain cannot be read (\(error.code))")
        }
    }

    private enum Loaded {
        case keys(AuditChain.PublicKeys)
        case unreadable(Report)
    }

    private static func load(_ files: [String]) -> Loaded {
        var keys: [AsymmetricKey] = []
        for path in files {
            guard let pem = FileManager.default.contents(atPath: path) else {
                return .unreadable(Report(intact: false, text: "\(path): cannot be read (the audit public key)"))
            }
            do { keys.append(try AsymmetricKey(pem: String(decoding: pem, as: UTF8.self))) } catch {
                return .unreadable(Report(intact: false, text: "\(path): is not a PEM public key"))
            }
        }
        return .keys(AuditChain.PublicKeys(keys))
    }
}
