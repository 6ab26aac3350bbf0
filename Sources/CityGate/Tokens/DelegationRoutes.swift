import Foundation
import HTTPCore
import HTTPServer

/// `/admin/delegations` and `/admin/audit` on the ops listener (admin token): agent stations'
/// delegations are registered here, and the audit trail shows what was done on whose behalf.
///
/// `POST /admin/delegations` takes the partner-side ids of the agent and the citizen and stores
/// only their salted hashes, the same pseudonyms the partner's tokens will carry.
struct DelegationRoutes: Sendable {
    let tokens: TokenService
    let audit: any AuditKeeping
    let authorize: @Sendable (Request, RequestContext) throws -> Void
    let clock: @Sendable () -> Int64

    func mount(on router: inout Router) {
        router.post("/admin/delegations") { request, context in
            try authorize(request, context)
            let delegation = try parse(request.body)
            do {
                try await tokens.delegations.insert(delegation, now: clock())
                try await audit.append(
                    kind: "delegation.created", at: clock(),
                    fields: [
                        "id": delegation.id, "partner": delegation.partnerId, "agent": delegation.agent,
                        "citizen": delegation.citizen, "services": delegation.services,
                        "notBefore": delegation.notBefore, "notAfter": delegation.notAfter,
                        "requestId": context.requestId,
                    ])
            } catch {
                throw ProblemError(.storeUnavailable, "The delegation could not be stored.")
            }
            var response = Response.jsonObject(delegation.json())
            response.status = .created
            return response
        }
        router.get("/admin/delegations") { request, context in
            try authorize(request, context)
            do {
                return .jsonObject(["delegations": try await tokens.delegations.list(limit: 500).map { $0.json() }])
            } catch {
                throw ProblemError(.storeUnavailable, "Delegations cannot be read.")
            }
        }
        router.post("/admin/delegations/{id}/revoke") { request, context in
            try authorize(request, context)
            let id = context.pathParameters["id"] ?? ""
            let revoked: Bool
            do {
                revoked = try await tokens.delegations.revoke(id: id, now: clock())
                if revoked {
                    try await audit.append(
                        kind: "delegation.revoked", at: clock(), fields: ["id": id, "requestId": context.requestId])
                }
            } catch {
                throw ProblemError(.storeUnavailable, "The delegation could not be revoked.")
            }
            guard revoked else {
                throw ProblemError(
                    .unknownDelegation, "No active delegation \(EchoableText.quoted(id, or: "with that id")).")
            }
            return .jsonObject(["id": id, "status": "revoked"])
        }
        // A range of the hash chain with its seals: each entry's hash is SHA-256 of the previous
        // hash, "\n" and `content` (docs/ops.md), so an auditor can check it without the database.
        router.get("/admin/audit/chain") { request, context in
            try authorize(request, context)
            let query = FormEncoding.decode(request.query ?? "") ?? [:]
            let from = Int64(query["from"] ?? "") ?? 1
            let to = Int64(query["to"] ?? "") ?? Int64.max
            guard from >= 1, to >= from else {
                throw ProblemError(.invalidQuery, "from and to are entry numbers, 1 ≤ from ≤ to.")
            }
            do { return .jsonObject(try await audit.chain(from: from, to: to, limit: 1000)) } catch {
                throw ProblemError(.storeUnavailable, "The audit trail cannot be read.")
            }
        }
        router.get("/admin/audit") { request, context in
            try authorize(request, context)
            let query = FormEncoding.decode(request.query ?? "") ?? [:]
            let since = Int64(query["since"] ?? "") ?? 0
            let onBehalf = query["onBehalf"] == "true"
            do {
                let entries = try await audit.list(since: since, onBehalfOnly: onBehalf, limit: 500).map { $0.json() }
                return .jsonObject(["entries": entries])
            } catch {
                throw ProblemError(.storeUnavailable, "The audit trail cannot be read.")
            }
        }
    }

    /// `{"partner", "agent", "citizen", "services": [...], "notBefore"?, "notAfter"}`; every
    /// problem in one answer, never echoing the ids.
    private func parse(_ body: [UInt8]) throws -> Delegation {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            throw ProblemError(.invalidJSON, "The body must be a JSON object.")
        }
        let manifests = tokens.active.snapshot.manifests
        var problems: [String] = []
        let allowed: Set<String> = ["partner", "agent", "citizen", "services", "notBefore", "notAfter"]
        for key in object.keys.sorted() where !allowed.contains(key) { problems.append("$.\(key): unknown field") }
        let partner = object["partner"] as? String ?? ""
        if manifests.partners[partner] == nil { problems.append("$.partner: must name a configured partner") }
        let agent = object["agent"] as? String ?? ""
        let citizen = object["citizen"] as? String ?? ""
        if agent.isEmpty || agent.utf8.count > 128 { problems.append("$.agent: must be the agent's partner-side id") }
        if citizen.isEmpty || citizen.utf8.count > 128 {
            problems.append("$.citizen: must be the citizen's partner-side id")
        }
        if !agent.isEmpty && agent == citizen { problems.append("$.agent: must differ from the citizen") }
        let services = object["services"] as? [String] ?? []
        if services.isEmpty { problems.append("$.services: must list at least one service id") }
        for (index, id) in services.enumerated() where manifests.services[id] == nil {
            problems.append("$.services[\(index)]: no service \(EchoableText.quoted(id, or: "by that name"))")
        }
        let now = clock()
        let notBefore = (object["notBefore"] as? NSNumber)?.int64Value ?? now
        let notAfter = (object["notAfter"] as? NSNumber)?.int64Value ?? 0
        if notAfter <= notBefore { problems.append("$.notAfter: must be a Unix time after notBefore") }
        if notAfter - notBefore > 366 * 86_400 { problems.append("$.notAfter: a delegation lasts at most a year") }
        guard problems.isEmpty else {
            throw ProblemError(.invalidDelegation, problems.joined(separator: "; "))
        }
        let id: String
        do { id = try TokenService.randomId(prefix: "dlg_", bytes: 12) } catch {
            throw ProblemError(.internalError, "No randomness available.")
        }
        return Delegation(
            id: id, partnerId: partner, agent: tokens.subjectHash(partnerId: partner, id: agent),
            citizen: tokens.subjectHash(partnerId: partner, id: citizen), services: services.sorted(),
            notBefore: notBefore, notAfter: notAfter)
    }
}
