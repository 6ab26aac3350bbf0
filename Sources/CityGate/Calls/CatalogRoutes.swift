import Foundation
import HTTPCore
import HTTPServer

/// `GET /v1/cities/{city}/services` (the catalog) and `GET /v1/cities/{city}/services/{service}`
/// (one service's guide: operations, input schemas, time limits, auth level, notices).
struct CatalogRoutes: Sendable {
    let active: ActiveConfiguration
    /// Unix seconds: "if applied now" deadlines in the guide.
    var clock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }

    func catalog(_ request: Request, _ context: RequestContext) -> Response {
        let snapshot = active.snapshot
        let city: CityConfiguration
        switch Self.city(in: snapshot, context) {
        case .success(let found): city = found
        case .failure(let refusal): return refusal.response(requestId: context.requestId)
        }
        let services: [[String: Any]] = city.services.keys.sorted().compactMap { id in
            guard let service = snapshot.manifests.services[id], let entry = city.services[id] else { return nil }
            return summary(service, entry: entry)
        }
        return .jsonObject([
            "city": ["code": city.code, "name": ["zh": city.nameZh, "en": city.nameEn]], "services": services,
        ])
    }

    func guide(_ request: Request, _ context: RequestContext) -> Response {
        let snapshot = active.snapshot
        let id = context.pathParameters["service"] ?? ""
        let city: CityConfiguration
        switch Self.city(in: snapshot, context) {
        case .success(let found): city = found
        case .failure(let refusal): return refusal.response(requestId: context.requestId)
        }
        let code = city.code
        guard let entry = city.services[id], let service = snapshot.manifests.services[id] else {
            return ProblemError(
                .unknownService, "City \(code) offers no service \(EchoableText.quoted(id, or: "by that name"))."
            ).response(requestId: context.requestId)
        }
        var guide = summary(service, entry: entry)
        guide["version"] = service.version
        guide["operations"] = service.operations.keys.sorted().compactMap { name -> [String: Any]? in
            guard let operation = service.operations[name], !operation.eventOnly else { return nil }
            var item: [String: Any] = [
                "name": name, "scope": operation.scope, "idempotent": operation.idempotent,
                "call": "POST /v1/cities/\(code)/services/\(id)/\(name)",
            ]
            if let schema = operation.inputSchemaJSON,
                let object = try? JSONSerialization.jsonObject(with: Data(schema.utf8))
            {
                item["input"] = object
            }
            // What the answer holds, and the service's own problem slugs beside the gateway's.
            item["output"] = operation.response.fieldNames
            let slugs = Set(operation.response.errors.values).union(
                operation.response.faults.entries.values.map(\.problem))
            if !slugs.isEmpty { item["errors"] = slugs.sorted() }
            // Which input fields must name the token's own citizen (403 subject-mismatch otherwise).
            if !operation.bindings.isEmpty {
                item["bind"] = Dictionary(
                    uniqueKeysWithValues: operation.bindings.map { ($0.field, $0.source.rawValue) })
            }
            return item
        }
        // What a case received now would be due by, in this city's working days.
        let deadlines = city.calendar.deadlines(
            receivedAt: clock(), legalDays: service.legalDays, promisedDays: service.promisedDays)
        guide["deadlinesIfReceivedNow"] = [
            "countsFrom": deadlines.countsFrom.description, "promisedBy": deadlines.promisedBy.description,
            "legalBy": deadlines.legalBy.description,
        ]
        guide["rateLimits"] = (entry.rateLimits.isEmpty ? service.rateLimits : entry.rateLimits).map {
            ["scope": $0.scope, "limit": $0.limit, "periodSeconds": $0.periodSeconds, "burst": $0.burst]
                as [String: Any]
        }
        return .jsonObject(guide)
    }

    /// `GET /v1/cities/{city}/openapi.json`: the city's enabled operations as OpenAPI 3.1.
    func openAPI(_ request: Request, _ context: RequestContext, issuer: String) -> Response {
        let snapshot = active.snapshot
        let city: CityConfiguration
        switch Self.city(in: snapshot, context) {
        case .success(let found): city = found
        case .failure(let refusal): return refusal.response(requestId: context.requestId)
        }
        var response = Response.jsonObject(
            OpenAPIDocument.build(city: city, manifests: snapshot.manifests, issuer: issuer))
        response.headers.add(name: "Cache-Control", value: "public, max-age=60")
        return response
    }

    /// The city the path names, or the 404 for a code served nowhere here.
    private static func city(in snapshot: ConfigurationSnapshot, _ context: RequestContext)
        -> Result<CityConfiguration, ProblemError>
    {
        let code = context.pathParameters["city"] ?? ""
        guard let city = snapshot.manifests.cities[code] else {
            return .failure(
                ProblemError(
                    .unknownCity, "No city with code \(EchoableText.quoted(code, or: "like that")) is served here."))
        }
        return .success(city)
    }

    private func summary(_ service: ServiceManifest, entry: CityConfiguration.ServiceEntry) -> [String: Any] {
        var item: [String: Any] = [
            "id": service.id, "name": ["zh": service.nameZh, "en": service.nameEn], "category": service.category,
            "authLevel": service.authLevel.rawValue,
            "department": ["code": service.departmentCode, "name": service.departmentName],
            "itemCode": service.itemCode,
            "timeLimits": ["legalDays": service.legalDays, "promisedDays": service.promisedDays],
            "enabled": entry.enabled && service.enabled,
        ]
        if !(entry.enabled && service.enabled) {
            item["notice"] = [
                "zh": entry.disabledNoticeZh ?? service.disabledNoticeZh ?? "",
                "en": entry.disabledNoticeEn ?? service.disabledNoticeEn ?? "",
            ]
        }
        return item
    }
}
