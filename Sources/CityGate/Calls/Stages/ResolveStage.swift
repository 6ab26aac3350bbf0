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
        // Nearly every call names an operation that is offered: its target was built with the
        // snapshot. The walk below finds which name is unknown (or that the service is paused).
        if let target = call.snapshot.targets[code]?[serviceId]?[operationName],
            target.service.enabled, target.city.services[serviceId]?.enabled == true
        {
            call.labels.city = code
            call.labels.service = serviceId
            call.labels.operation = operationName
            call.labels.durationLabels = target.route.requestDurationLabels
            call.city = target.city
            call.target = target
            return
        }
        guard let city = call.snapshot.manifests.cities[code] else {
            throw ProblemError(
                .unknownCity, "No city with code \(EchoableText.quoted(code, or: "like that")) is served here.")
        }
        call.labels.city = code
        call.city = city
        guard let entry = city.services[serviceId], let service = call.snapshot.manifests.services[serviceId] else {
            throw ProblemError(
                .unknownService, "City \(code) offers no service \(EchoableText.quoted(serviceId, or: "by that name"))."
            )
        }
        call.labels.service = serviceId
        guard let operation = service.operations[operationName], !operation.eventOnly else {
            throw ProblemError(
                .unknownOperation,
                "Service \(serviceId) has no operation \(EchoableText.quoted(operationName, or: "by that name")).")
        }
        call.labels.operation = operationName
        let route =
            call.snapshot.routes[city.code]?[service.id]
            ?? ServiceRoute(city: city, service: service, backends: call.snapshot.backends)
        call.labels.durationLabels = route.requestDurationLabels
        if !entry.enabled || !service.enabled {
            let zh = entry.disabledNoticeZh ?? service.disabledNoticeZh ?? "该服务暂停办理。"
            let en = entry.disabledNoticeEn ?? service.disabledNoticeEn ?? "This service is paused."
            throw ProblemError(.serviceDisabled, en, extensions: ["noticeZh": zh, "noticeEn": en])
        }
        call.target = CallContext.Target(city: city, service: service, operation: operation, route: route)
    }
}
