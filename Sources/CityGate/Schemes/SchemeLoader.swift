import Cryptography
import Foundation

/// What a scheme reads its part of a partner file through (``PartnerScheme/load(_:)``): the
/// file's JSON, secret resolution relative to the file, and the problem list, so every scheme
/// reports in the same `file: json-path: message` form and refuses unknown fields the same way.
public struct SchemeLoader {
    let reader: ConfigReader
    let root: [String: Any]
    let directory: String
    let environment: [String: String]
    let scheme: any PartnerScheme.Type

    /// Reports a problem at `path`.
    func report(_ path: String, _ message: String) {
        reader.report(path, message)
    }

    /// A secret field resolved through its `env:`/`file:` reference.
    func secret(_ object: [String: Any], _ field: String, at path: String) -> String? {
        reader.secret(object, field, at: path, directory: directory, environment: environment)
    }

    /// The section `name` (one of the scheme's ``PartnerScheme/sections``) when present, with its
    /// fields checked against `allowed`; `required` reports its absence with `why`.
    func section(_ name: String, allowed: Set<String>, requiredFor why: String? = nil) -> [String: Any]? {
        guard let value = root[name] else {
            if let why { report("$.\(name)", "is required for \(scheme.name) (\(why))") }
            return nil
        }
        guard let object = reader.object(value, at: "$.\(name)") else { return nil }
        reader.checkFields(object, at: "$.\(name)", allowed: allowed)
        return object
    }

    /// Reads `keys[]`: at least one entry, unique ids, only `id` and the scheme's key fields;
    /// `read` turns each entry into the scheme's key (nil when it reported why not).
    func keys<Key>(_ read: (KeyEntry) -> Key?) -> [Key] {
        let items = reader.array(root, "keys", at: "$") ?? []
        if items.isEmpty && root["keys"] is [Any] { report("$.keys", "must list at least one key") }
        var keys: [Key] = []
        var seen: Set<String> = []
        for (index, item) in items.enumerated() {
            let path = "$.keys[\(index)]"
            guard let object = reader.object(item, at: path) else { continue }
            reader.checkFields(object, at: path, allowed: scheme.keyFields.union(["id"]))
            let id = reader.string(object, "id", at: path) ?? "\(index)"
            if !seen.insert(id).inserted { report("\(path).id", "duplicate key id '\(id)'") }
            if let key = read(KeyEntry(id: id, object: object, path: path, loader: self)) { keys.append(key) }
        }
        return keys
    }
}

/// One `keys[]` entry while its scheme reads it.
public struct KeyEntry {
    /// The key id.
    public let id: String
    let object: [String: Any]
    let path: String
    let loader: SchemeLoader

    /// Reports a problem with the entry as a whole (`needs token`).
    func report(_ message: String) {
        loader.report(path, message)
    }

    /// Reports a problem with one of its fields.
    func report(_ field: String, _ message: String) {
        loader.report("\(path).\(field)", message)
    }

    /// The resolved text of a secret field.
    func secret(_ field: String) -> String? {
        loader.secret(object, field, at: path)
    }

    /// A plain (non-secret) text field, nil when absent.
    func text(_ field: String) -> String? {
        loader.reader.string(object, field, at: path, required: false)
    }

    /// A PEM public key field.
    func publicKey(_ field: String = "publicKey", what: String = "a PEM public key") -> AsymmetricKey? {
        guard let text = secret(field) else { return nil }
        do { return try AsymmetricKey(pem: text) } catch {
            report(field, "must resolve to \(what) (\(error.operation))")
            return nil
        }
    }

    /// A PEM private key field.
    func privateKey(_ field: String = "privateKey") -> AsymmetricKey? {
        guard let text = secret(field) else { return nil }
        do { return try AsymmetricKey(pem: text) } catch {
            report(field, "must resolve to a PEM private key")
            return nil
        }
    }

    /// A PEM X.509 certificate field.
    func certificate(_ field: String = "certificate") -> Certificate? {
        guard let text = secret(field) else { return nil }
        do { return try Certificate(pem: text) } catch {
            report(field, "must resolve to a PEM X.509 certificate")
            return nil
        }
    }
}
