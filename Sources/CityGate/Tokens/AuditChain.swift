import Cryptography
import Foundation
import Store

/// The tamper-evident form of the audit trail: every audited event is appended to `audit_chain`
/// with the SHA-256 of the previous entry, and the chain's head is signed now and then
/// (`audit_seal`) with the gateway's audit key, so editing, deleting or reordering an entry —
/// or cutting the chain short behind a seal — is found by ``verify(database:publicKey:)``
/// (`citygate audit verify`).
///
/// ```
///   hash(n) = SHA-256( hash(n−1) "\n" content(n) )       hash(0) = 64 × "0"
///           or "sm3:" SM3( hash(n−1) "\n" content(n) )   with gateway.json audit.hash "sm3"
///   content(n) = canonical JSON {"at","fields","kind","seq"} (keys sorted)
///   seal = Ed25519( "citygate-audit-seal\n" seq "\n" hash(seq) )
/// ```
///
/// Appending happens inside the caller's transaction (`BEGIN IMMEDIATE`), so concurrent appends
/// from several loops are serialised by SQLite and the chain has one order.
public enum AuditChain {
    /// The previous hash of the first entry.
    static let genesis = String(repeating: "0", count: 64)

    /// The digest that links entries (`gateway.json` `audit.hash`). Each stored hash says which
    /// it is (an SM3 one is prefixed `sm3:`), so a chain may change algorithm between entries
    /// and is still verified entry by entry.
    public enum HashAlgorithm: String, Sendable, CaseIterable {
        case sha256
        case sm3
    }

    /// Appends one event in `session`'s transaction; returns its sequence number.
    @discardableResult
    static func append(
        kind: String, at: Int64, fields: [String: any Sendable], algorithm: HashAlgorithm = .sha256,
        in session: Session
    ) throws(SQLiteError) -> Int64 {
        let last = try session.query("SELECT seq, hash FROM audit_chain ORDER BY seq DESC LIMIT 1") { row in
            (seq: row.integer(0), hash: row.text(1) ?? genesis)
        }.first
        let link = Link(
            seq: (last?.seq ?? 0) + 1, previous: last?.hash ?? genesis, kind: kind, at: at, fields: fields,
            algorithm: algorithm)
        try session.run(
            "INSERT INTO audit_chain (seq, at, kind, content, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            [
                .integer(link.seq), .integer(at), .text(kind), .text(link.content), .text(link.previous),
                .text(link.hash),
            ])
        return link.seq
    }

    /// One entry as it is stored: its number, the hash it follows, its content and its hash.
    struct Link: Sendable {
        let seq: Int64
        let previous: String
        let content: String
        let hash: String

        /// Links the event after the entry `seq − 1`, whose hash is `previous`.
        init(
            seq: Int64, previous: String, kind: String, at: Int64, fields: [String: any Sendable],
            algorithm: HashAlgorithm
        ) {
            self.seq = seq
            self.previous = previous
            content = canonical(["seq": seq, "at": at, "kind": kind, "fields": fields])
            hash = AuditChain.hash(previous: previous, content: content, algorithm: algorithm)
        }
    }

    /// Signs the chain's head unless it is sealed already; the sealed sequence number, if any.
    @discardableResult
    static func seal(database: Database, key: AsymmetricKey, keyId: String, now: Int64) throws -> Int64? {
        try database.transaction { session throws(SQLiteError) -> Int64? in
            guard
                let head = try session.query(
                    "SELECT seq, hash FROM audit_chain ORDER BY seq DESC LIMIT 1",
                    row: {
                        (seq: $0.integer(0), hash: $0.text(1) ?? "")
                    }
                ).first
            else { return nil }
            let sealed = try session.query("SELECT MAX(seq) FROM audit_seal") { $0.integer(0) }.first ?? 0
            guard head.seq > sealed else { return nil }
            guard let signature = try? key.sign(sealMessage(seq: head.seq, hash: head.hash)) else { return nil }
            try session.run(
                "INSERT INTO audit_seal (seq, hash, signature, key_id, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                [.integer(head.seq), .text(head.hash), .text(Encoding.base64(signature)), .text(keyId), .integer(now)])
            return head.seq
        }
    }

    /// What ``verify(database:publicKey:)`` found.
    struct Verification: Equatable, CustomStringConvertible {
        /// Entries and seals read.
        var entries = 0
        var seals = 0
        /// The last entry a seal covers.
        var lastSealed: Int64 = 0
        /// The first break, naming the entry (nil: intact).
        var broken: String?

        var description: String {
            if let broken { return "audit chain broken: \(broken)" }
            let unsealed = Int64(entries) - lastSealed
            return
                "audit chain intact: \(entries) entries, \(seals) seals (the last covers entry \(lastSealed); \(unsealed) after it are not sealed yet)"
        }
    }

    /// The public halves of the keys that sealed a chain, by key id (`audit-` and the first
    /// bytes of the key's SHA-256). A shared chain is sealed by every instance with its own
    /// key; one chain of one instance by one key.
    struct PublicKeys {
        let keys: [(id: String, key: AsymmetricKey)]

        init(_ keys: [AsymmetricKey]) {
            self.keys = keys.map { (KeyFile.id(of: $0, prefix: "audit-"), $0) }
        }

        /// The key that made a seal: the one with the seal's key id; else, when one key is given,
        /// that key (a seal whose key was replaced then fails its signature check, which says so).
        func key(for id: String) -> AsymmetricKey? {
            if let named = keys.first(where: { $0.id == id }) { return named.key }
            return keys.count == 1 ? keys[0].key : nil
        }
    }

    /// One stored entry, as read for verification.
    struct StoredEntry: Sendable {
        var seq: Int64
        var content: String
        var previous: String
        var hash: String
    }

    /// One stored seal.
    struct StoredSeal: Sendable {
        var seq: Int64
        var hash: String
        var signature: String
        var keyId: String
    }

    /// One row of the queryable call table, with the columns checked against the chain.
    struct IndexedCall: Sendable {
        var requestId: String
        var status: Int
        var subject: String
        var service: String
        var operation: String
        var partner: String
    }

    /// Walks the whole chain of gateway.db and every seal, and checks its queryable `audit`
    /// table against it.
    static func verify(database: Database, keys: PublicKeys) throws(SQLiteError) -> Verification {
        try database.withConnection { session throws(SQLiteError) -> Verification in
            let entries = try session.query("SELECT seq, content, prev_hash, hash FROM audit_chain ORDER BY seq") {
                row in
                StoredEntry(
                    seq: row.integer(0), content: row.text(1) ?? "", previous: row.text(2) ?? "",
                    hash: row.text(3) ?? "")
            }
            let seals = try session.query("SELECT seq, hash, signature, key_id FROM audit_seal ORDER BY seq") { row in
                StoredSeal(
                    seq: row.integer(0), hash: row.text(1) ?? "", signature: row.text(2) ?? "",
                    keyId: row.text(3) ?? "")
            }
            let indexed = try session.query(
                "SELECT request_id, status, subject, service, operation, partner FROM audit ORDER BY request_id"
            ) { row in
                IndexedCall(
                    requestId: row.text(0) ?? "", status: Int(row.integer(1)), subject: row.text(2) ?? "",
                    service: row.text(3) ?? "", operation: row.text(4) ?? "", partner: row.text(5) ?? "")
            }
            return verify(entries: entries, seals: seals, indexed: indexed, keys: keys)
        }
    }

    /// Walks `entries` (in order of `seq`) and every seal, and checks the queryable call rows
    /// against the chain; names the first break. The same walk for gateway.db and PostgreSQL.
    static func verify(
        entries: [StoredEntry], seals: [StoredSeal], indexed: [IndexedCall], keys: PublicKeys
    ) -> Verification {
        var result = Verification()
        var expected: Int64 = 1
        var previous = genesis
        var hashes: [Int64: String] = [:]
        var calls: [String: [String: Any]] = [:]
        for row in entries {
            result.entries += 1
            if row.seq != expected {
                result.broken = "entry \(expected) is missing (the chain goes on at entry \(row.seq))"
                return result
            }
            if row.previous != previous {
                result.broken =
                    "entry \(row.seq) does not follow entry \(row.seq - 1) (an entry was edited, removed or reordered)"
                return result
            }
            let algorithm: HashAlgorithm = row.hash.hasPrefix("sm3:") ? .sm3 : .sha256
            if hash(previous: row.previous, content: row.content, algorithm: algorithm) != row.hash {
                result.broken = "entry \(row.seq) does not match its hash (its content was edited)"
                return result
            }
            let object = (try? JSONSerialization.jsonObject(with: Data(row.content.utf8))) as? [String: Any]
            guard let object, (object["seq"] as? NSNumber)?.int64Value == row.seq else {
                result.broken = "entry \(row.seq) carries another sequence number (entries were renumbered)"
                return result
            }
            if object["kind"] as? String == "call", let fields = object["fields"] as? [String: Any],
                let requestId = fields["requestId"] as? String
            {
                calls[requestId] = fields
            }
            hashes[row.seq] = row.hash
            previous = row.hash
            expected += 1
        }
        for seal in seals {
            result.seals += 1
            guard let key = keys.key(for: seal.keyId) else {
                result.broken =
                    "the seal of entry \(seal.seq) was made with key \(EchoableText.quoted(seal.keyId, or: "unnamed")), which is not among the public keys given"
                return result
            }
            guard let signature = Encoding.base64Decode(seal.signature),
                key.verify(signature: signature, data: sealMessage(seq: seal.seq, hash: seal.hash))
            else {
                result.broken = "the seal of entry \(seal.seq) does not verify with the audit key"
                return result
            }
            guard let hash = hashes[seal.seq] else {
                result.broken =
                    "a seal covers entry \(seal.seq) but the chain ends at entry \(expected - 1) (entries were removed from its end)"
                return result
            }
            guard hash == seal.hash else {
                result.broken = "entry \(seal.seq) is not the entry its seal signed"
                return result
            }
            result.lastSealed = max(result.lastSealed, seal.seq)
        }
        // The queryable table must say what the chain says.
        for row in indexed {
            guard let fields = calls[row.requestId] else {
                result.broken = "the audit table has request \(row.requestId), which the chain does not"
                return result
            }
            guard (fields["status"] as? NSNumber)?.intValue == row.status,
                fields["subject"] as? String == row.subject,
                fields["service"] as? String == row.service, fields["operation"] as? String == row.operation,
                fields["partner"] as? String == row.partner
            else {
                result.broken = "the audit table's row for request \(row.requestId) differs from the chain"
                return result
            }
        }
        return result
    }

    static func hash(previous: String, content: String, algorithm: HashAlgorithm = .sha256) -> String {
        let input = Array((previous + "\n" + content).utf8)
        switch algorithm {
        case .sha256: return Encoding.hex((try? Digest.sha256.hash(input)) ?? [])
        case .sm3: return "sm3:" + Encoding.hex((try? Digest.sm3.hash(input)) ?? [])
        }
    }

    static func sealMessage(seq: Int64, hash: String) -> [UInt8] {
        Array("citygate-audit-seal\n\(seq)\n\(hash)".utf8)
    }

    /// The content that is hashed: JSON with keys sorted by their UTF-8 bytes and no
    /// insignificant whitespace, as ``JSONWriter`` writes it. (JSONSerialization's `.sortedKeys`
    /// collates with ICU, which made a chained record cost 130 µs instead of 42 µs.)
    static func canonical(_ object: [String: any Sendable]) -> String {
        JSONWriter.text(object) ?? "{}"
    }
}
