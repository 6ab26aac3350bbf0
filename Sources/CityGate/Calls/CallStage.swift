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

}

/// A stage with work on a successful answer's way out (in reverse stage order).
///
/// Separate from ``CallStage`` so the pipeline awaits only the stages that have such work: an
/// async call through an existential costs a task switch even when its body is empty, and
/// empty defaults for every stage made 22 of them per call.
protocol DecoratingStage: CallStage {
    /// Adds to a successful answer.
    func decorate(_ response: inout Response, _ call: CallContext) async
}

/// A stage that sees the call's final answer, success or refusal, once it is decided (every
/// such stage whose `run` completed, in reverse order): the place to keep or release what `run`
/// claimed.
protocol FinishingStage: CallStage {
    /// Sees the final answer; `refusal` is the problem slug when a stage stopped the call.
    func finish(_ call: CallContext, response: Response, refusal: String?) async
}

/// Sees every call once it is answered, successfully or not: metrics, the audit trail.
protocol CallObserver: Sendable {
    /// `refusal` is the problem slug when a stage stopped the call.
    func finished(_ call: CallContext, response: Response, refusal: String?) async
}
