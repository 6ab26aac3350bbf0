import HTTPCore
import HTTPServer

extension CallPipeline {
    /// A problem answer ending the chain.
    struct Stop: Error {
        var response: Response
        /// The problem slug, for the audit trail.
        var slug: String? = nil
    }

    static func problem(
        _ slug: String, _ status: Int, _ detail: String, _ context: RequestContext, extra: [String: String] = [:]
    ) -> Stop {
        Stop(
            response: .problem(
                Problem(
                    slug: slug, title: Status.standardPhrase(for: status), status: status, detail: detail,
                    requestId: context.requestId, extensions: extra)), slug: slug)
    }

    static func invalidToken(_ detail: String, _ context: RequestContext) -> Stop {
        // RFC 6750 §3: error_description is printable ASCII without quote or backslash.
        let escaped = EchoableText.challengeDescription(detail)
        return bearerProblem(
            "invalid-token", 401, detail,
            challenge: "Bearer realm=\"citygate\", error=\"invalid_token\", error_description=\"\(escaped)\"", context)
    }

    static func bearerProblem(
        _ slug: String, _ status: Int, _ detail: String, challenge: String, _ context: RequestContext
    ) -> Stop {
        var response = problem(slug, status, detail, context).response
        response.headers.add(name: "WWW-Authenticate", value: challenge)
        return Stop(response: response, slug: slug)
    }
}
