import HTTPServer

/// Stage 1: the city, service and operation of the path in the call's snapshot, and their
/// compiled route. 404 for names that are not served, 503 with the city's notice for a paused
/// service.
struct ResolveStage: CallStage {
    let name = "resolve"

    func run(_ call: inout CallContext) async throws(ProblemError) {
        let context = call.http
        let code = context.pathParameters["city"] ?? ""
        let serviceId = context.pathParameters["service"] ?? ""
        let operationName = context.pathParameters["operation"] ?? ""
        // Every operation a city offers for calls has its target, built with the snapshot.
        guard let target = call.snapshot.targets[code]?[serviceId]?[operationName] else {
            throw Self.unknownName(&call, city: code, service: serviceId, operation: operationName)
        }
        call.labels.city = code
        call.labels.service = serviceId
        call.labels.operation = operationName
        call.labels.durationLabels = target.route.requestDurationLabels
        call.city = target.city
        let entry = target.city.services[serviceId]
        if entry?.enabled != true || !target.service.enabled {
            let zh = entry?.disabledNoticeZh ?? target.service.disabledNoticeZh ?? "该服务暂停办理。"
            let en = entry?.disabledNoticeEn ?? target.service.disabledNoticeEn ?? "This service is paused."
            throw ProblemError(.serviceDisabled, en, extensions: ["noticeZh": zh, "noticeEn": en])
        }
        call.target = target
    }

    /// Which name of a call without a target is unknown: the city, the service in that city, or
    /// the operation (absent, or event-only). Labels are filled as far as the names resolve.
    private static func unknownName(
        _ call: inout CallContext, city code: String, service serviceId: String, operation: String
    )
        -> ProblemError
    {
        guard let city = call.snapshot.manifests.cities[code] else {
            return ProblemError(
                .unknownCity, "No city with code \(EchoableText.quoted(code, or: "like that")) is served here.")
        }
        call.labels.city = code
        call.city = city
        guard city.services.index(forKey: serviceId) != nil,
            call.snapshot.manifests.services.index(forKey: serviceId) != nil
        else {
            return ProblemError(
                .unknownService, "City \(code) offers no service \(EchoableText.quoted(serviceId, or: "by that name"))."
            )
        }
        call.labels.service = serviceId
        return ProblemError(
            .unknownOperation,
            "Service \(serviceId) has no operation \(EchoableText.quoted(operation, or: "by that name")).")
    }
}
