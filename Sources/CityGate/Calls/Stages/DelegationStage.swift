/// Stage 3b: an agent's token acts only while its delegation is valid, names this agent and
/// citizen, and covers the service. Checked on every call, so revoking a delegation stops tokens
/// already issued (403 `delegation-invalid` / `delegation-out-of-scope`).
struct DelegationStage: CallStage {
    let name = "delegation"
    let tokens: TokenService?
    let clock: @Sendable () -> Int64

    func run(_ call: inout CallContext) async throws(CallPipeline.Stop) {
        let service = try call.resolved(for: name).service
        let context = call.http
        guard let grant = call.token?.grant, let delegationId = grant.delegationId, let tokens else { return }
        let now = clock()
        let delegation: Delegation?
        do { delegation = try tokens.delegations.find(id: delegationId) } catch {
            throw CallPipeline.problem(
                "store-unavailable", 503, "Delegations cannot be read right now; retry.", context)
        }
        guard let delegation, delegation.isValid(at: now), delegation.agent == grant.actor,
            delegation.citizen == grant.subject
        else {
            throw CallPipeline.problem(
                "delegation-invalid", 403, "The delegation this agent acts under has expired or was revoked.", context)
        }
        guard delegation.services.contains(service.id) else {
            throw CallPipeline.problem(
                "delegation-out-of-scope", 403, "The delegation does not cover service \(service.id).", context)
        }
    }
}
