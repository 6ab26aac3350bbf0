import Cryptography
import Foundation
import HTTPCore
import HTTPServer
import Logging

/// The applicant's side of a case, on the public listener (docs/cases.md):
///
/// ```
///   GET  /v1/cities/{city}/cases/{number}          the case view: stage, history, deadlines, rating
///   POST /v1/cities/{city}/cases/{number}          the same, for schemes that sign only POSTs (`{}`)
///   POST /v1/cities/{city}/cases/{number}/rating   好差评: {"level", "comment"?}, once, after 办结
/// ```
///
/// Both run the call pipeline's stages: the city, the partner's signature (``PartnerStage``) and a
/// citizen token of that partner for the city with scope `cases.read` / `cases.rate`; then the
/// case must be the token's citizen's. Another citizen's case answers exactly like a case that
/// does not exist (404 `unknown-case`, never 403).
struct CaseRoutes: Sendable {
    let active: ActiveConfiguration
    let store: any CaseKeeping
    let pushes: CasePushes
    let tokens: TokenService?
    let audit: (any AuditKeeping)?
    let metrics: Metrics?
    let clock: @Sendable () -> Int64

    /// The scopes the two routes need.
    static let viewScope = "cases.read"
    static let rateScope = "cases.rate"
    /// The longest comment kept (characters).
    static let maxComment = 500

    func mount(on router: inout Router) {
        // Case views and ratings are citizen-bound calls: counted, and audited like every other.
        var observers: [any CallObserver] = metrics.map { [RequestMetricsObserver(metrics: $0)] } ?? []
        if let audit { observers.append(AuditObserver(audit: audit, clock: clock)) }
        /// The stages both routes share, then the route's own.
        func pipeline(_ operation: String, _ requirement: BearerStage.Requirement, _ last: any CallStage)
            -> CallPipeline
        {
            CallPipeline(
                active: active,
                stages: [
                    CaseCityStage(operation: operation), PartnerStage(metrics: metrics, clock: clock),
                    CaseTokenStage(tokens: tokens, clock: clock, requirement: requirement), last,
                ], observers: observers)
        }
        let view = pipeline(
            "case.view", .init(scope: Self.viewScope, what: "Viewing a case", level: .citizen, owner: "The case view"),
            CaseViewStage(store: store))
        let rate = pipeline(
            "case.rate", .init(scope: Self.rateScope, what: "Rating a case", level: .citizen, owner: "Rating"),
            CaseRatingStage(store: store, audit: audit, clock: clock))
        router.get("/v1/cities/{city}/cases/{number}") { request, context in
            await view.handle(request, context: context)
        }
        // The same view by POST (the body is ignored): WeChat-style platforms sign only POSTed
        // messages, a GET being their URL-verification handshake.
        router.post("/v1/cities/{city}/cases/{number}") { request, context in
            await view.handle(request, context: context)
        }
        router.post("/v1/cities/{city}/cases/{number}/rating") { request, context in
            await rate.handle(request, context: context)
        }
    }

    /// The case of the path if it is the calling citizen's; 404 otherwise.
    static func ownCase(_ call: CallContext, store: any CaseKeeping, stage: String) async throws(ProblemError)
        -> CaseStore.Record
    {
        let city = try call.resolvedCity(for: stage)
        let number = call.http.pathParameters["number"] ?? ""
        let record: CaseStore.Record?
        do { record = try await store.find(city: city.code, number: number) } catch {
            throw ProblemError(
                .storeUnavailable, "Cases cannot be read right now; retry shortly.",
                headers: [("Retry-After", "5")])
        }
        guard let record, let grant = call.token?.grant,
            SecureBytes.equal(Array(record.subject.utf8), Array(grant.subject.utf8)), !record.subject.isEmpty
        else { throw CaseProgressRoute.unknownCase(number, city.code) }
        return record
    }

    /// The case as its applicant sees it.
    static func view(
        _ record: CaseStore.Record, history: [CaseStore.ProgressEntry], rating: CaseStore.Rating?,
        followUp: CaseStore.FollowUp?
    ) -> [String: Any] {
        var object: [String: Any] = [
            "city": record.city, "caseNumber": record.number, "service": record.service,
            "department": record.department, "receivedAt": PushClock.rfc3339(record.receivedAt),
            "deadlines": [
                "countsFrom": record.deadlines.countsFrom.description,
                "promisedBy": record.deadlines.promisedBy.description,
                "legalBy": record.deadlines.legalBy.description,
            ],
            "history": history.map { entry -> [String: Any] in
                var item: [String: Any] = [
                    "stage": entry.stage.rawValue, "stageZh": entry.stage.zh, "at": PushClock.rfc3339(entry.at),
                    "sequence": entry.sequence,
                ]
                if let note = entry.note { item["note"] = note }
                return item
            },
        ]
        if let stage = record.stage {
            object["stage"] = stage.rawValue
            object["stageZh"] = stage.zh
        }
        if let closedAt = record.closedAt { object["closedAt"] = PushClock.rfc3339(closedAt) }
        if let rating {
            var rated: [String: Any] = [
                "level": rating.level.slug, "levelZh": rating.level.zh, "ratedAt": PushClock.rfc3339(rating.ratedAt),
            ]
            if let comment = rating.comment { rated["comment"] = comment }
            object["rating"] = rated
        } else if record.stage == .finished {
            object["ratingInvited"] = true
        }
        if let followUp {
            var item: [String: Any] = ["id": followUp.id, "state": followUp.closedAt == nil ? "open" : "closed"]
            if let note = followUp.note { item["note"] = note }
            object["followUp"] = item
        }
        return object
    }
}

/// The city of a case route's path (404 `unknown-city`); names the route's metric labels.
struct CaseCityStage: CallStage {
    let name = "case-city"
    let operation: String

    func run(_ call: inout CallContext) async throws(ProblemError) {
        let code = call.http.pathParameters["city"] ?? ""
        guard let city = call.snapshot.manifests.cities[code] else {
            throw ProblemError(
                .unknownCity, "No city with code \(EchoableText.quoted(code, or: "like that")) is served here.")
        }
        call.city = city
        call.labels.city = code
        call.labels.service = "cases"
        call.labels.operation = operation
    }
}

/// A citizen token of the calling partner for the city, with the route's scope.
struct CaseTokenStage: CallStage {
    let name = "case-token"
    let tokens: TokenService?
    let clock: @Sendable () -> Int64
    let requirement: BearerStage.Requirement

    func run(_ call: inout CallContext) async throws(ProblemError) {
        call.token = try BearerStage.check(
            call.request, partnerId: try call.partner(for: name), city: try call.resolvedCity(for: name),
            requirement: requirement, tokens: tokens, now: clock())
    }
}

/// `GET …/cases/{number}`: the applicant's own case.
struct CaseViewStage: CallStage {
    let name = "case-view"
    let store: any CaseKeeping

    func run(_ call: inout CallContext) async throws(ProblemError) {
        let record = try await CaseRoutes.ownCase(call, store: store, stage: name)
        do {
            let object = CaseRoutes.view(
                record, history: try await store.history(city: record.city, number: record.number),
                rating: try await store.rating(city: record.city, number: record.number),
                followUp: try await store.followUp(city: record.city, number: record.number))
            call.response = .jsonObject(object)
        } catch {
            throw ProblemError(
                .storeUnavailable, "Cases cannot be read right now; retry shortly.", headers: [("Retry-After", "5")])
        }
    }
}

/// `POST …/cases/{number}/rating`: one rating of a finished case; a poor one opens a follow-up.
/// The comment is stored with personal data masked.
struct CaseRatingStage: CallStage {
    let name = "case-rating"
    let store: any CaseKeeping
    let audit: (any AuditKeeping)?
    let clock: @Sendable () -> Int64

    func run(_ call: inout CallContext) async throws(ProblemError) {
        let record = try await CaseRoutes.ownCase(call, store: store, stage: name)
        let (level, comment) = try Self.rating(call.payload)
        let outcome: CaseStore.RatingOutcome
        let now = clock()
        do {
            outcome = try await store.rate(
                city: record.city, number: record.number, level: level, comment: comment, at: now)
        } catch {
            throw ProblemError(
                .storeUnavailable, "The rating cannot be recorded right now; retry shortly.",
                headers: [("Retry-After", "5")])
        }
        switch outcome {
        case .unknownCase: throw CaseProgressRoute.unknownCase(record.number, record.city)
        case .notFinished:
            throw ProblemError(.caseNotFinished, "A case is rated once it is finished (办结).")
        case .alreadyRated(let existing):
            throw ProblemError(
                .alreadyRated, "The case was rated before (\(existing.level.slug)); a case has one rating.")
        case .rated(let rating, let followUp):
            do {
                try await audit?.append(
                    kind: "case.rated", at: now,
                    fields: [
                        "city": record.city, "case": record.number, "level": rating.level.rawValue,
                        "followUp": followUp?.id ?? 0, "requestId": call.http.requestId,
                    ])
            } catch {
                Log.error(
                    "audit record failed", ["requestId": call.http.requestId, "error": StoreErrorCode.of(error)])
            }
            var answer: [String: Any] = [
                "caseNumber": record.number, "level": rating.level.slug, "levelZh": rating.level.zh,
                "ratedAt": PushClock.rfc3339(rating.ratedAt),
            ]
            if let followUp { answer["followUp"] = ["id": followUp.id, "state": "open"] }
            call.response = .jsonObject(answer, status: .created)
        }
    }

    /// `{"level", "comment"?}`: a level by slug, Chinese name or number 1–5 (1 best).
    static func rating(_ body: [UInt8]) throws(ProblemError) -> (RatingLevel, String?) {
        guard case .object(let object)? = try? JSONReader.parse(body) else {
            throw ProblemError(.invalidJSON, "The rating must be a JSON object.")
        }
        var errors: [String] = []
        for name in object.keys.sorted() where name != "level" && name != "comment" {
            errors.append("$.\(EchoableText.quoted(name, or: "member")): is not a field of a rating")
        }
        var level: RatingLevel?
        switch object["level"] {
        case .string(let text)?: level = RatingLevel(named: text)
        case .number(let text)?: level = Int(text).flatMap(RatingLevel.init(rawValue:))
        default: break
        }
        if level == nil {
            errors.append(
                "$.level: must be one of \(RatingLevel.allCases.map { "\($0.slug) (\($0.zh))" }.joined(separator: ", "))"
            )
        }
        var comment: String?
        if let value = object["comment"] {
            if let text = value.stringValue, text.count <= CaseRoutes.maxComment {
                // Personal data never reaches storage: an id number or phone a citizen types into
                // a comment is masked first.
                comment = text.isEmpty ? nil : PersonalDataMask.mask(text)
            } else {
                errors.append("$.comment: must be text of at most \(CaseRoutes.maxComment) characters")
            }
        }
        guard errors.isEmpty, let level else {
            throw ProblemError(.invalidRating, "The rating is not valid.", errors: errors)
        }
        return (level, comment)
    }
}
