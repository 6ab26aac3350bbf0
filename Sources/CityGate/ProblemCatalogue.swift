import HTTPCore
import HTTPServer

/// Every problem kind the gateway answers with, in one place (the server's are
/// ``ProblemType/server``, the parser's ``ProblemType/parser``, the verifiers' come from
/// ``VerificationFailure/Reason``). Code names a kind (`.storeUnavailable`); no slug is spelled
/// anywhere else, and `docs/problems.md` is checked against ``ProblemType/gateway`` both ways.
/// Services add their own kinds in their manifests (`response.errors`).
extension ProblemType {
    // Calls
    static let unknownCity = ProblemType("unknown-city", 404)
    static let unknownService = ProblemType("unknown-service", 404)
    static let unknownOperation = ProblemType("unknown-operation", 404)
    static let serviceDisabled = ProblemType("service-disabled", 503)
    static let missingPartner = ProblemType("missing-partner", 401)
    static let unknownPartner = ProblemType("unknown-partner", 401)
    static let partnerNotAllowed = ProblemType("partner-not-allowed", 403)
    static let tokenRequired = ProblemType("token-required", 401)
    static let invalidToken = ProblemType("invalid-token", 401)
    static let insufficientScope = ProblemType("insufficient-scope", 403)
    static let insufficientAuthLevel = ProblemType("insufficient-auth-level", 401)
    static let delegationInvalid = ProblemType("delegation-invalid", 403)
    static let delegationOutOfScope = ProblemType("delegation-out-of-scope", 403)
    static let backendNotConfigured = ProblemType("backend-not-configured", 503)
    static let subjectMismatch = ProblemType("subject-mismatch", 403)
    static let tokensUnavailable = ProblemType("tokens-unavailable", 503)
    static let storeUnavailable = ProblemType("store-unavailable", 503)
    static let stateUnavailable = ProblemType("state-unavailable", 503)
    static let invalidJSON = ProblemType("invalid-json", 400)
    static let invalidInput = ProblemType("invalid-input", 422)
    static let rateLimited = ProblemType("rate-limited", 429)
    static let invalidIdempotencyKey = ProblemType("invalid-idempotency-key", 400)
    static let idempotencyKeyInUse = ProblemType("idempotency-key-in-use", 409)
    static let idempotencyKeyReused = ProblemType("idempotency-key-reused", 422)
    static let backendRejectedRequest = ProblemType("backend-rejected-request", 502)
    static let backendBadResponse = ProblemType("backend-bad-response", 502)
    // Backends
    static let backendCircuitOpen = ProblemType("backend-circuit-open", 503)
    static let backendBusy = ProblemType("backend-busy", 503)
    static let backendTimeout = ProblemType("backend-timeout", 504)
    static let backendUnavailable = ProblemType("backend-unavailable", 502)
    static let backendTLSFailure = ProblemType("backend-tls-failure", 502)
    static let backendResponseTooLarge = ProblemType("backend-response-too-large", 502)
    static let backendError = ProblemType("backend-error", 502)
    static let backendCredentialsUnavailable = ProblemType("backend-credentials-unavailable", 502)
    static let backendFault = ProblemType("backend-fault", 502)
    static let requestCancelled = ProblemType("request-cancelled", 503)
    // Partner events
    static let unknownEventPartner = ProblemType("unknown-partner", 404)
    static let unreadableEvent = ProblemType("unreadable-event", 400)
    static let eventTooLarge = ProblemType("event-too-large", 413)
    static let inboxUnavailable = ProblemType("inbox-unavailable", 503)
    // Ops listener
    static let adminDisabled = ProblemType("admin-disabled", 403)
    static let adminUnauthorized = ProblemType("admin-unauthorized", 401)
    static let invalidManifests = ProblemType("invalid-manifests", 422)
    static let invalidQuery = ProblemType("invalid-query", 400)
    static let unknownDelivery = ProblemType("unknown-delivery", 404)
    static let notDead = ProblemType("not-dead", 409)
    static let invalidDelegation = ProblemType("invalid-delegation", 422)
    static let unknownDelegation = ProblemType("unknown-delegation", 404)
    static let notReady = ProblemType("not-ready", 503)
    // Client certificates on the TLS listener (docs/edge.md).
    static let clientCertificateRequired = ProblemType("client-certificate-required", 403)
    static let clientCertificateRejected = ProblemType("client-certificate-rejected", 403)
    static let clientCertificateMismatch = ProblemType("client-certificate-mismatch", 403)
    // The case lifecycle (docs/cases.md).
    static let unknownCase = ProblemType("unknown-case", 404)
    static let unknownReporter = ProblemType("unknown-reporter", 404)
    static let invalidProgress = ProblemType("invalid-progress", 422)
    static let progressConflict = ProblemType("progress-conflict", 409)
    static let caseClosed = ProblemType("case-closed", 409)
    static let invalidRating = ProblemType("invalid-rating", 422)
    static let caseNotFinished = ProblemType("case-not-finished", 409)
    static let alreadyRated = ProblemType("already-rated", 409)
    static let unknownFollowUp = ProblemType("unknown-follow-up", 404)
    static let followUpClosed = ProblemType("follow-up-closed", 409)

    /// The gateway's kinds, as `docs/problems.md` lists them.
    public static let gateway: [ProblemType] = [
        .unknownCity, .unknownService, .unknownOperation, .serviceDisabled, .missingPartner, .unknownPartner,
        .partnerNotAllowed, .tokenRequired, .invalidToken, .insufficientScope, .insufficientAuthLevel,
        .delegationInvalid, .delegationOutOfScope, .backendNotConfigured, .subjectMismatch, .tokensUnavailable,
        .storeUnavailable, .stateUnavailable, .invalidJSON, .invalidInput, .rateLimited,
        .invalidIdempotencyKey, .idempotencyKeyInUse, .idempotencyKeyReused, .backendRejectedRequest,
        .backendBadResponse,
        .backendCircuitOpen, .backendBusy, .backendTimeout, .backendUnavailable, .backendTLSFailure,
        .backendResponseTooLarge, .backendError, .backendCredentialsUnavailable, .backendFault, .requestCancelled,
        .unknownEventPartner, .unreadableEvent,
        .eventTooLarge,
        .inboxUnavailable, .adminDisabled, .adminUnauthorized, .invalidManifests, .invalidQuery, .unknownDelivery,
        .notDead, .invalidDelegation, .unknownDelegation, .notReady, .unknownCase, .unknownReporter, .invalidProgress,
        .progressConflict, .caseClosed, .invalidRating, .caseNotFinished, .alreadyRated, .unknownFollowUp,
        .followUpClosed, .clientCertificateRequired, .clientCertificateRejected, .clientCertificateMismatch,
    ]

    /// The verifiers' kinds (401; `replayed` is 409).
    public static var verification: [ProblemType] {
        VerificationFailure.Reason.allCases.map { VerificationFailure($0, "").problemType }
    }

    /// Every kind CityGate answers with, from every layer.
    public static var all: [ProblemType] { parser + server + gateway + verification }
}

extension ProblemError {
    /// A refusal listing what is wrong with a body (`errors`: `["$.path: message", …]`).
    init(_ type: ProblemType, _ detail: String, errors: [String]) {
        self.init(type, detail)
        jsonExtensions["errors"] = String(
            decoding: JSONWriter.encode(.array(errors.map { .string($0) })), as: UTF8.self)
    }
}
