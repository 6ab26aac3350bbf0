import HTTPServer

/// Stage 5b: every bound input field names the token's own citizen (see ``SubjectBinding``).
/// For an agent that is the citizen its delegation names. A field left out claims nobody and
/// passes; a mismatch is 403 `subject-mismatch` naming the field, never either value, counted in
/// `citygate_subject_mismatches_total`, and the backend is not called.
struct BindingStage: CallStage {
    let name = "bindings"
    let metrics: Metrics?

    func run(_ call: inout CallContext) async throws(ProblemError) {
        let target = try call.resolved(for: name)
        guard !target.operation.bindings.isEmpty else { return }
        let (input, grant, raw, labels, context) = (
            call.input, call.token?.grant, call.rawIdentity, call.labels, call.http
        )
        for binding in target.operation.bindings {
            guard let claimed = binding.value(in: input) else { continue }
            let identity: String? =
                switch binding.source {
                case .raw: raw
                case .pseudonym: grant.flatMap { $0.isCitizen ? $0.subject : nil }
                }
            if let identity, binding.matches(claimed: claimed, identity: identity) { continue }
            metrics?.increment(
                "citygate_subject_mismatches_total",
                [
                    "city": labels.city, "service": labels.service, "operation": labels.operation,
                    "partner": labels.partner, "field": binding.field,
                ])
            throw ProblemError(
                .subjectMismatch,
                "Input field \(binding.field) must identify the citizen this token stands for (bound to \(binding.source.rawValue)); an agent acts only for the citizen its delegation names.",
                extensions: ["field": binding.field])
        }
    }
}
