import HTTPCore
import HTTPServer
import Logging

/// `POST /v1/cities/{city}/backends/{backend}/cases/{number}/events`: a backend reports a stage
/// change of one of its cases (docs/cases.md, "Progress in").
///
/// ```
///   signature (hmac-sha256, the backend's progressKeys)                  401
///   {"id", "stage", "at"?, "note"?}                                       422 invalid-progress
///   the case is the city's, and its service runs on this backend          404 unknown-case
///   gateway.db: report + current stage, one transaction, keyed by id      409 progress-conflict / case-closed
///   inbox.db: the push to the partner that submitted the case (FULL)      503 inbox-unavailable
///   202 {"caseNumber", "stage", "sequence", "duplicate", "pushed"}
/// ```
///
/// Both writes happen before the answer, and both are idempotent on the backend's event id: a
/// backend that retries after a crash between them (it got no answer) completes the second, and
/// the push goes out exactly once.
struct CaseProgressRoute: Sendable {
    let active: ActiveConfiguration
    let store: any CaseKeeping
    let pushes: CasePushes
    let metrics: Metrics?
    let clock: @Sendable () -> Int64

    /// The longest note kept (characters).
    static let maxNote = 500
    /// The longest event id.
    static let maxEventId = 128

    func mount(on router: inout Router) {
        router.post("/v1/cities/{city}/backends/{backend}/cases/{number}/events") { request, context in
            try await handle(request, context)
        }
    }

    func handle(_ request: Request, _ context: RequestContext) async throws -> Response {
        let snapshot = active.snapshot
        let code = context.pathParameters["city"] ?? ""
        let backend = context.pathParameters["backend"] ?? ""
        let number = context.pathParameters["number"] ?? ""
        guard snapshot.manifests.cities[code] != nil else {
            throw ProblemError(
                .unknownCity, "No city with code \(EchoableText.quoted(code, or: "like that")) is served here.")
        }
        let key = ConfigurationSnapshot.backendKey(city: code, backend: backend)
        guard let authenticator = snapshot.progressAuthenticators[key] else {
            throw ProblemError(
                .unknownReporter,
                "City \(code) has no backend \(EchoableText.quoted(backend, or: "by that name")) that reports case progress."
            )
        }
        let now = clock()
        do { _ = try authenticator.verifyOnly(SignedRequest(request), now: now) } catch {
            metrics?.increment(
                "citygate_verification_failures_total", ["partner": "backend", "reason": error.reason.rawValue])
            throw error.problemError()
        }
        let report = try Self.report(request.body, city: code, number: number, now: now)
        // A case of another backend's service is not this backend's to report on: checked before
        // anything is written, and answered like a case that does not exist.
        let existing: CaseStore.Record?
        do { existing = try await store.find(city: code, number: number) } catch {
            throw ProblemError(
                .storeUnavailable, "The report cannot be recorded right now; retry shortly.",
                headers: [("Retry-After", "5")])
        }
        guard let existing, snapshot.manifests.services[existing.service]?.backend == backend else {
            throw Self.unknownCase(number, code)
        }
        let outcome: CaseStore.ProgressOutcome
        do { outcome = try await store.recordProgress(report, receivedAt: now) } catch {
            throw ProblemError(
                .storeUnavailable, "The report cannot be recorded right now; retry shortly.",
                headers: [("Retry-After", "5")])
        }
        let entry: CaseStore.ProgressEntry
        let record: CaseStore.Record
        let duplicate: Bool
        switch outcome {
        case .unknownCase:
            throw Self.unknownCase(number, code)
        case .conflict(let existing):
            throw ProblemError(
                .progressConflict,
                "Event \(EchoableText.quoted(report.eventId, or: "id")) was reported before with other content (stage \(existing.stage.rawValue)); give each report an id of its own."
            )
        case .closed(let closed):
            throw ProblemError(
                .caseClosed,
                "The case was \(closed.stage == .refused ? "refused" : "finished") before this report's time; no later stage can follow."
            )
        case .recorded(let recorded, let current):
            (entry, record, duplicate) = (recorded, current, false)
        case .duplicate(let recorded, let current):
            (entry, record, duplicate) = (recorded, current, true)
        }
        let queued = await pushes.queue(
            CasePushes.progress(entry, of: record), for: record, snapshot: snapshot,
            raw: EventRoutes.rawRequest(request))
        if queued == .failed {
            // Recorded, not yet pushed: the backend's retry (same id) queues the push.
            Log.error("case push not queued", ["requestId": context.requestId, "city": code])
            throw ProblemError(
                .inboxUnavailable, "The report is recorded but its push could not be queued; retry it unchanged.",
                headers: [("Retry-After", "5")])
        }
        if !duplicate {
            metrics?.increment(
                "citygate_case_progress_total", ["city": code, "stage": entry.stage.rawValue])
        }
        return .jsonObject(
            [
                "caseNumber": record.number, "stage": entry.stage.rawValue, "current": record.stage?.rawValue ?? "",
                "sequence": entry.sequence, "duplicate": duplicate, "pushed": queued == .queued,
            ], status: .accepted)
    }

    static func unknownCase(_ number: String, _ city: String) -> ProblemError {
        ProblemError(.unknownCase, "City \(city) has no case \(EchoableText.quoted(number, or: "with that number")).")
    }

    /// Reads and checks a report body, naming every problem.
    static func report(_ body: [UInt8], city: String, number: String, now: Int64) throws(ProblemError)
        -> CaseStore.ProgressReport
    {
        guard case .object(let object)? = try? JSONReader.parse(body) else {
            throw ProblemError(.invalidJSON, "The report must be a JSON object.")
        }
        var errors: [String] = []
        for name in object.keys.sorted() where !["id", "stage", "at", "note"].contains(name) {
            errors.append("$.\(EchoableText.quoted(name, or: "member")): is not a field of a progress report")
        }
        let id = object["id"]?.stringValue ?? ""
        if id.isEmpty || id.count > maxEventId || !id.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
        {
            errors.append("$.id: must be the backend's event id, 1 to \(maxEventId) printable ASCII characters")
        }
        let stage = object["stage"]?.stringValue.flatMap(ProgressStage.init(named:))
        if stage == nil {
            errors.append(
                "$.stage: must be one of \(ProgressStage.allCases.map { "\($0.rawValue) (\($0.zh))" }.joined(separator: ", "))"
            )
        }
        var at = now
        if let value = object["at"] {
            if let text = value.stringValue, let parsed = PushClock.parse(text) {
                at = parsed
                if at > now + 300 { errors.append("$.at: is more than 5 minutes in the future") }
            } else {
                errors.append("$.at: must be an RFC 3339 date-time (2026-12-03T10:15:00+08:00)")
            }
        }
        var note: String?
        if let value = object["note"] {
            if let text = value.stringValue, text.count <= maxNote {
                note = text.isEmpty ? nil : text
            } else {
                errors.append("$.note: must be text of at most \(maxNote) characters")
            }
        }
        guard errors.isEmpty, let stage else {
            throw ProblemError(.invalidProgress, "The progress report is not valid.", errors: errors)
        }
        return CaseStore.ProgressReport(city: city, number: number, eventId: id, stage: stage, at: at, note: note)
    }
}
