import HTTPCore
import HTTPServer

/// One step of the call pipeline, in the manner of an Envoy HTTP filter or a Hummingbird
/// middleware: it reads and fills the ``CallContext`` or stops the call with a problem.
///
/// Stages do not log, count or audit their refusals: ``CallObserver``s see every call's outcome
/// once, whichever stage ended it.
protocol CallStage: Sendable {
    /// The stage's name (in internal-error problems and the architecture doc).
    var name: String { get }

    /// Does the stage's work, or throws the answer that ends the call.
    func run(_ call: inout CallContext) async throws(ProblemError)

    /// Adds to a successful answer on the way out (in reverse stage order). Default: nothing.
    func decorate(_ response: inout Response, _ call: CallContext) async

    /// Sees the call's final answer, success or refusal, once it is decided (every stage whose
    /// `run` completed, in reverse order): the place to keep or release what `run` claimed.
    /// Default: nothing.
    func finish(_ call: CallContext, response: Response, refusal: String?) async
}

extension CallStage {
    func decorate(_ response: inout Response, _ call: CallContext) async {}

    func finish(_ call: CallContext, response: Response, refusal: String?) async {}
}

/// Sees every call once it is answered, successfully or not: metrics, the audit trail.
protocol CallObserver: Sendable {
    /// `refusal` is the problem slug when a stage stopped the call.
    func finished(_ call: CallContext, response: Response, refusal: String?) async
}
