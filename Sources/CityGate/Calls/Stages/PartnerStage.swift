import HTTPCore
import HTTPServer

/// Stage 2: `X-Partner-Id` names a configured partner that may call the city, its signature
/// holds over the raw request, and the request was not accepted before (401 / 403 / 409; 503
/// when the replay store cannot record it, which is never accepted unrecorded).
struct PartnerStage: CallStage {
    let name = "partner"
    let metrics: Metrics?
    let clock: @Sendable () -> Int64

    func run(_ call: inout CallContext) async throws(ProblemError) {
        let city = try call.resolvedCity(for: name)
        guard let partnerId = call.request.headers["x-partner-id"], !partnerId.isEmpty else {
            throw ProblemError(.missingPartner, "X-Partner-Id must name the calling partner.")
        }
        guard let authenticator = call.snapshot.authenticators[partnerId] else {
            throw ProblemError(
                .unknownPartner,
                "No partner \(EchoableText.quoted(partnerId, or: "by that X-Partner-Id")) is configured.")
        }
        call.labels.partner = partnerId
        guard city.partners.contains(partnerId), authenticator.partner.cities.contains(city.code) else {
            throw ProblemError(.partnerNotAllowed, "Partner \(partnerId) may not call city \(city.code).")
        }
        let outcome: PartnerAuthenticator.Outcome
        do {
            outcome = try await authenticator.authenticate(SignedRequest(call.request), now: clock())
        } catch {
            switch error {
            case .verification(let failure):
                metrics?.increment(
                    "citygate_verification_failures_total", ["partner": partnerId, "reason": failure.reason.rawValue])
                throw failure.problemError(debug: authenticator.partner.debugSignatures)
            case .storage:
                throw ProblemError(
                    .storeUnavailable, "The gateway cannot record this request right now; retry shortly.",
                    headers: [("Retry-After", "5")])
            case .stateUnavailable:
                throw ProblemError(
                    .stateUnavailable,
                    "The gateway's shared state is unreachable, so this request cannot be checked for replay; retry shortly.",
                    headers: [("Retry-After", "1")])
            }
        }
        switch outcome {
        case .fresh(let verified):
            call.partnerId = partnerId
            guard let input = authenticator.partner.scheme.callInput(verified.payload) else {
                throw ProblemError(
                    .invalidJSON,
                    "The signed request carries no call input (biz_content for \(authenticator.partner.scheme.name)).")
            }
            call.payload = input
        case .duplicate:
            let failure = VerificationFailure(
                .replayed, "This signed request was already accepted; sign each call afresh.")
            throw failure.problemError()
        }
    }
}
