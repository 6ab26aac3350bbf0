import Foundation
import HTTPClient
import Store
import TestSupport
import Testing

@testable import CityGate

/// One token request sees one manifest snapshot: a reload landing in the middle of it (here, a
/// different set in force while the request's own set is pinned) changes nothing it decides.
struct TokenSnapshotTests {
    static func manifests(accessTokenSeconds: Int) throws -> ManifestSet {
        let tree = try ManifestSetTests.brokenTree([
            "gateway.json": { gateway in gateway["tokens"] = ["accessTokenSeconds": accessTokenSeconds] }
        ])
        return try ManifestSet.load(directory: tree, environment: [:]).get()
    }

    @Test
    func aRequestKeepsTheSnapshotItStartedWith() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cg-tokens-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let database = try Database(path: directory.path + "/gateway.db")
        let replayStore = try ReplayStore(database: database)
        let client = try HTTPClient()
        defer { client.shutdown() }
        let started = try Self.manifests(accessTokenSeconds: 600)
        let reloaded = try Self.manifests(accessTokenSeconds: 60)
        let active = ActiveConfiguration(
            ConfigurationSnapshot(manifests: reloaded, replayStore: replayStore, client: client))
        let tokens = TokenService(
            active: active, store: try TokenStore(database: database, now: 0),
            delegations: try DelegationStore(database: database), vault: try IdentityVault(database: database),
            replayStore: replayStore, material: try TokenKeyMaterial.load(directory: directory.path))
        let grant = TokenGrant(
            clientId: "hmac-demo-app", partnerId: "hmac-demo", subject: "hmac-demo-app", audience: "440300",
            scopes: ["halls.read"], level: .partner)
        let pinned = try tokens.pinning(started) { try tokens.issueAccessToken(grant, family: nil, now: 1_000) }
        #expect(pinned.expiresAt == 1_600, "the request's own snapshot: 600 s")
        let current = try tokens.pinning { try tokens.issueAccessToken(grant, family: nil, now: 1_000) }
        #expect(current.expiresAt == 1_060, "a new request takes the set in force: 60 s")
    }
}
