import HTTPServer

/// Stage 5a: for a raw-identity service (`rawIdentity`), the citizen's own id from the identity
/// vault, for the backend request and the `subject.raw` bindings. A token whose id the gateway
/// does not hold is `invalid-token`: the client must exchange a new one.
struct IdentityStage: CallStage {
    let name = "identity"
    let tokens: TokenService?
    let clock: @Sendable () -> Int64

    func run(_ call: inout CallContext) async throws(ProblemError) {
        guard try call.resolved(for: name).service.rawIdentity, let grant = call.token?.grant, grant.isCitizen else {
            return
        }
        guard let tokens,
            let raw = await tokens.vault.reveal(subject: grant.subject, salt: tokens.subjectSalt, now: clock())
        else {
            throw CallPipeline.invalidToken(
                "This service needs the citizen's own id, which the gateway does not hold for this token; exchange a new token."
            )
        }
        call.rawIdentity = raw
    }
}
