import HTTPServer

/// Stage 3b: an agent's token acts only while its delegation is valid, names this agent and
/// citizen, and covers the service. Checked on every call, so revoking a delegation stops tokens
/// already issued (403 `delegation-invalid` / `delegation-out-of-scope`).
struct DelegationStage: CallStage {
    let name = "delegation"
    let tokens: TokenService?
    let clock: @Sendable () -> Int64

    func run(_ call: inout CallContext) async throws(ProblemError) {
        let target = try call.resolved(for: name)
        guard let grant = call.token?.grant, let delegationId = grant.delegationId, let tokens else { return }
        let now = clock()
        let delegation: Delegation?
        do { delegation = try await tokens.delegations.find(id: delegationId) } catch {
            throw ProblemError(.storeUnavailable, "Delegations cannot be read right now; retry.")
        }
        guard let delegation, delegation.isValid(at: now), delegation.agent == grant.actor,
            delegation.citizen == grant.subject
        else {
            throw ProblemError(.delegationInvalid, "The delegation this agent acts under has expired or was revoked.")
        }
        guard delegation.services.contains(target.service.id) else {
            throw ProblemError(.delegationOutOfScope, "The delegation does not cover service \(target.service.id).")
        }
    }
}
