import Cryptography
import Foundation
import Store

/// `citygate audit verify --data DIR [--public-key FILE]`: walks a data directory's audit chain
/// and seals and names the first break. The public key defaults to the directory's own
/// `audit-signing-key.pub`; a copy kept elsewhere is the stronger check, since whoever could edit
/// the database could also have replaced that file.
public enum AuditVerifier {
    /// The outcome: whether the chain is intact, and a report naming what was checked or the
    /// first broken entry.
    public struct Report: Sendable {
        /// True when every entry and seal holds.
        public var intact: Bool
        /// One line for people.
        public var text: String
    }

    /// Verifies `dataDirectory/gateway.db`. Run it on a stopped gateway or a copy of the
    /// directory: a running gateway holds its database exclusively.
    public static func verify(dataDirectory: String, publicKeyFile: String? = nil) -> Report {
        let keyPath = publicKeyFile ?? dataDirectory + "/audit-signing-key.pub"
        guard let pem = FileManager.default.contents(atPath: keyPath) else {
            return Report(intact: false, text: "\(keyPath): cannot be read (the audit public key)")
        }
        let publicKey: AsymmetricKey
        do { publicKey = try AsymmetricKey(pem: String(decoding: pem, as: UTF8.self)) } catch {
            return Report(intact: false, text: "\(keyPath): is not a PEM public key")
        }
        let path = dataDirectory + "/gateway.db"
        guard FileManager.default.fileExists(atPath: path) else {
            return Report(intact: false, text: "\(path): does not exist")
        }
        do {
            let database = try Database(path: path)
            let result = try AuditChain.verify(database: database, publicKey: publicKey)
            return Report(intact: result.broken == nil, text: result.description)
        } catch {
            return Report(intact: false, text: "\(path): cannot be read (\(error))")
        }
    }
}
