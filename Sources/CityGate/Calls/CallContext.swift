import HTTPCore
import HTTPServer

/// One partner call as it moves through the pipeline's stages: what arrived, the snapshot it is
/// decided on, and what each stage found, for the stages after it and for the observers.
///
/// Stages fill it in order (``CallPipeline/stages``); a stage that needs what an earlier one
/// finds reads it through the throwing accessors, so a stage list in the wrong order is an
/// internal error naming the stage, never a crash.
struct CallContext {
    /// The call's city, service, operation and their compiled route.
    ///
    /// A class: every stage reads the target, and these manifest values hold dozens of
    /// references each, so handing out a struct copy retained and released all of them per
    /// stage (a sixth of the pipeline's retains, counted with uprobes); a reference is one.
    final class Target: Sendable {
        let city: CityConfiguration
        let service: ServiceManifest
        let operation: ServiceManifest.Operation
        let route: ServiceRoute

        init(
            city: CityConfiguration, service: ServiceManifest, operation: ServiceManifest.Operation, route: ServiceRoute
        ) {
            self.city = city
            self.service = service
            self.operation = operation
            self.route = route
        }
    }

    /// The request as parsed.
    let request: Request
    /// Request id, path parameters and peer.
    let http: RequestContext
    /// The configuration this call is decided on, start to end.
    let snapshot: ConfigurationSnapshot
    /// When the pipeline took the call.
    let started: ContinuousClock.Instant

    /// Metric labels, filled as names resolve ("unknown" until then).
    var labels = CallPipeline.Labels()
    /// Set by ``ResolveStage`` (and the case routes' city stage): the city of the path.
    var city: CityConfiguration?
    /// Set by ``ResolveStage``.
    var target: Target?
    /// Set by ``PartnerStage``: the partner whose signature holds, and the signed content.
    var partnerId: String?
    var payload: [UInt8] = []
    /// Set by ``BearerStage`` when a token was sent (always for citizen services).
    var token: TokenService.AccessToken?
    /// Set by ``RateLimitStage``.
    var limits: RateLimiter.Decision?
    /// Set by ``InputStage``: the validated JSON object.
    var input: [String: JSONValue] = [:]
    /// Set by ``IdentityStage`` for raw-identity services: the citizen's own id.
    var rawIdentity: String?
    /// Set by ``IdempotencyStage`` when this call claimed an `Idempotency-Key`.
    var idempotencyKey: (scope: String, key: String)?
    /// The answer for the partner: set by ``BackendStage``, or by a stage that answers the call
    /// itself (``IdempotencyStage`` replaying a stored answer), which ends the stage list there.
    var response: Response?
    /// Whether the backend answered (whatever the status): its outcome is known.
    var backendAnswered = false
    /// How long the backend took, when it was called.
    var backendElapsed: Duration?

    init(request: Request, http: RequestContext, snapshot: ConfigurationSnapshot, started: ContinuousClock.Instant) {
        self.request = request
        self.http = http
        self.snapshot = snapshot
        self.started = started
    }

    /// The resolved target, or an internal error when no stage resolved it yet.
    func resolved(for stage: String) throws(ProblemError) -> Target {
        guard let target else { throw Self.misordered(stage, needs: "the target", http) }
        return target
    }

    /// The city of the path, or an internal error when no stage resolved it yet.
    func resolvedCity(for stage: String) throws(ProblemError) -> CityConfiguration {
        guard let city else { throw Self.misordered(stage, needs: "the city", http) }
        return city
    }

    /// The verified partner, or an internal error when no stage verified one yet.
    func partner(for stage: String) throws(ProblemError) -> String {
        guard let partnerId else { throw Self.misordered(stage, needs: "a verified partner", http) }
        return partnerId
    }

    static func misordered(_ stage: String, needs: String, _ http: RequestContext) -> ProblemError {
        ProblemError(
            .internalError, "The call could not be completed; quote the request id to support.",
            extensions: ["stage": stage])
    }
}
