import Foundation
import HTTPCore
import HTTPServer
import Logging

/// `POST /v1/partners/{partner}/events` (and `GET` for WeChat's URL verification).
///
/// ```
///   verify (scheme, keys, window) ─► read type and id ─► bind to a service operation (or none)
///   ─► inbox append, committed with fsync (group commit) ─► the platform's own acknowledgement
///   duplicate id ─► acknowledged again, not stored or delivered again
///   store failure or inbox full ─► 503 + Retry-After: the platform retries; nothing is lost
/// ```
struct EventRoutes: Sendable {
    let active: ActiveConfiguration
    let inbox: any EventInbox
    let worker: DeliveryWorker
    let metrics: Metrics
    let clock: @Sendable () -> Int64

    func mount(on router: inout Router) {
        router.post("/v1/partners/{partner}/events") { request, context in await handle(request, context) }
        router.get("/v1/partners/{partner}/events") { request, context in await handle(request, context) }
    }

    /// A refusal in the partner scheme's shape (RFC 9457, plus what the platform documents).
    private func refuse(
        _ error: ProblemError, _ scheme: any PartnerScheme, _ context: RequestContext
    ) -> Response {
        var response = scheme.refused(error.problem(requestId: context.requestId))
        for (name, value) in error.headers { response.headers.add(name: name, value: value) }
        return response
    }

    func handle(_ request: Request, _ context: RequestContext) async -> Response {
        let (response, outcome) = await accept(request, context)
        let partnerId = context.pathParameters["partner"] ?? ""
        let partner = active.snapshot.authenticators[partnerId] != nil ? partnerId : "unknown"
        metrics.increment("citygate_events_received_total", ["partner": partner, "outcome": outcome])
        return response
    }

    /// The answer and a bounded outcome word for metrics.
    private func accept(_ request: Request, _ context: RequestContext) async -> (Response, String) {
        let snapshot = active.snapshot
        let partnerId = context.pathParameters["partner"] ?? ""
        guard let authenticator = snapshot.authenticators[partnerId] else {
            return (
                ProblemError(
                    .unknownEventPartner,
                    "No partner \(EchoableText.quoted(partnerId, or: "by that id")) is configured."
                ).response(requestId: context.requestId),
                "unknown-partner"
            )
        }
        let scheme = authenticator.partner.scheme
        let settings = snapshot.manifests.events
        guard request.body.count <= settings.maxEventBytes else {
            return (
                refuse(
                    ProblemError(.eventTooLarge, "An event may have at most \(settings.maxEventBytes) bytes."), scheme,
                    context),
                "too-large"
            )
        }
        let verified: VerifiedRequest
        do { verified = try authenticator.verifyOnly(SignedRequest(request), now: clock() / 1000) } catch {
            metrics.increment(
                "citygate_verification_failures_total", ["partner": partnerId, "reason": error.reason.rawValue])
            return (
                refuse(error.problemError(debug: authenticator.partner.debugSignatures), scheme, context),
                "unverified"
            )
        }
        if request.method == "GET" {
            // WeChat's URL verification answers echostr verbatim; nothing is stored.
            guard let echo = verified.echo else {
                return (
                    ProblemError(.methodNotAllowed, "Events are POSTed.").response(requestId: context.requestId),
                    "not-allowed"
                )
            }
            return (
                Response(status: .ok, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array(echo.utf8)),
                "url-verified"
            )
        }
        let event: EventPayload
        do { event = try scheme.readEvent(body: request.body, verified: verified) } catch {
            return (
                refuse(ProblemError(.unreadableEvent, error.message), scheme, context),
                "unreadable"
            )
        }
        let binding = EventBinding.resolve(snapshot.manifests, partner: authenticator.partner, event: event)
        // Unsorted: sorting keys costs an ICU collation per comparison, and nothing reads the order.
        let fields = (try? JSONSerialization.data(withJSONObject: event.fields)) ?? Data("{}".utf8)
        let appended = await inbox.append(
            Inbox.NewEvent(
                partnerId: partnerId, eventKey: event.key, eventType: event.type,
                rawRequest: Self.rawRequest(request), payload: Array(fields), city: binding?.city,
                service: binding?.service, operation: binding?.operation, orderingKey: binding?.orderingKey))
        switch appended {
        case .success(let result):
            if case .stored = result, binding != nil { worker.wake() }
            var response = scheme.accepted()
            if case .duplicate = result {
                response.headers.add(name: "X-CityGate-Duplicate", value: "true")
                return (response, "duplicate")
            }
            return (response, binding == nil ? "stored-unbound" : "stored")
        case .failure(let error):
            Log.error(
                "event not stored", ["requestId": context.requestId, "partner": partnerId, "code": "\(error.code)"])
            let refusal = ProblemError(
                .inboxUnavailable,
                "The event could not be stored durably, so it is not accepted; send it again shortly.",
                headers: [("Retry-After", "5")])
            return (refuse(refusal, scheme, context), "not-stored")
        }
    }

    /// The request exactly as received, for audit and re-processing, as an HTTP/1.1 message:
    /// request line, header fields in order, a blank line, the body bytes untouched.
    static func rawRequest(_ request: Request) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(request.body.count + 512)
        bytes += Array("\(request.method) \(request.head.target) HTTP/1.1\r\n".utf8)
        for field in request.headers { bytes += Array("\(field.name): \(field.value)\r\n".utf8) }
        bytes += [0x0D, 0x0A]
        bytes += request.body
        return bytes
    }
}

/// Which service operation an event goes to, in which city, and its ordering key.
struct EventBinding: Sendable, Equatable {
    let city: String
    let service: String
    let operation: String
    let orderingKey: String?

    /// `<partner id>:<type>` first, then `<scheme>:<type>`, over the services (in id order); the
    /// city is the first of the partner's cities (in code order) that enables the service.
    static func resolve(_ manifests: ManifestSet, partner: PartnerConfiguration, event: EventPayload) -> EventBinding? {
        for key in ["\(partner.id):\(event.type)", "\(partner.scheme.name):\(event.type)"] {
            for serviceId in manifests.services.keys.sorted() {
                guard let service = manifests.services[serviceId], let operation = service.events[key] else { continue }
                guard
                    let city = partner.cities.sorted().first(where: { code in
                        manifests.cities[code]?.services[serviceId]?.enabled == true
                    })
                else { continue }
                let ordering = service.eventOrdering[key].flatMap { path in
                    JSONValue(foundation: event.fields).flatMap { ResponseMapper.value(at: path, in: $0) }.map {
                        "\(partner.id)|\(serviceId)|\($0.text)"
                    }
                }
                return EventBinding(city: city, service: serviceId, operation: operation, orderingKey: ordering)
            }
        }
        return nil
    }
}
