import Foundation
import HTTPCore
import HTTPServer

/// `/admin/deliveries` on the ops listener (admin token): the inbox by state, one event, and
/// replay of dead letters — one by id, or every dead letter received in a time range.
struct DeliveryRoutes: Sendable {
    let inbox: any EventInbox
    let worker: DeliveryWorker
    let authorize: @Sendable (Request, RequestContext) throws -> Void
    let clock: @Sendable () -> Int64
    /// Replays are admin actions: they go to the audit trail.
    var audit: (any AuditKeeping)? = nil

    func mount(on router: inout Router) {
        router.get("/admin/deliveries") { request, context in
            try authorize(request, context)
            let query = FormEncoding.decode(request.query ?? "") ?? [:]
            var state: InboxEvent.State?
            if let text = query["state"] {
                guard let parsed = InboxEvent.State(rawValue: text) else {
                    throw ProblemError(
                        .invalidQuery,
                        "state must be one of \(InboxEvent.State.allCases.map(\.rawValue).joined(separator: ", "))."
                    )
                }
                state = parsed
            }
            let limit = min(1_000, max(1, Int(query["limit"] ?? "") ?? 100))
            return try await store {
                let events = try await inbox.list(state: state, limit: limit).map { $0.summary() }
                let statistics = try await inbox.statistics()
                return .jsonObject([
                    "deliveries": events,
                    "counts": Dictionary(uniqueKeysWithValues: statistics.counts.map { ($0.key.rawValue, $0.value) }),
                ])
            }
        }
        router.get("/admin/deliveries/{id}") { request, context in
            try authorize(request, context)
            let id = Int64(context.pathParameters["id"] ?? "") ?? -1
            return try await store {
                guard let event = try await inbox.find(id) else {
                    throw ProblemError(.unknownDelivery, "No event \(id).")
                }
                return .jsonObject(event.summary())
            }
        }
        router.post("/admin/deliveries/{id}/replay") { request, context in
            try authorize(request, context)
            let id = Int64(context.pathParameters["id"] ?? "") ?? -1
            return try await store {
                let count = try await inbox.replay(ids: [id], now: clock())
                guard count == 1 else {
                    throw ProblemError(.notDead, "Event \(id) is not a dead letter (or does not exist).")
                }
                try await audit?.append(
                    kind: "deliveries.replayed", at: clock() / 1000,
                    fields: ["events": [id], "count": count, "requestId": context.requestId])
                worker.wake()
                return .jsonObject(["replayed": count])
            }
        }
        router.post("/admin/deliveries/replay") { request, context in
            try authorize(request, context)
            let query = FormEncoding.decode(request.query ?? "") ?? [:]
            guard let from = Int64(query["from"] ?? ""), let to = Int64(query["to"] ?? ""), from < to else {
                throw ProblemError(
                    .invalidQuery, "Bulk replay needs from and to (Unix milliseconds of receipt, from < to).")
            }
            return try await store {
                let count = try await inbox.replay(ids: nil, from: from, to: to, now: clock())
                try await audit?.append(
                    kind: "deliveries.replayed", at: clock() / 1000,
                    fields: ["from": from, "to": to, "count": count, "requestId": context.requestId])
                worker.wake()
                return .jsonObject(["replayed": count])
            }
        }
    }

    private func store(_ body: () async throws -> Response) async throws -> Response {
        do { return try await body() } catch let refusal as ProblemError { throw refusal } catch {
            throw ProblemError(.storeUnavailable, "The inbox cannot be read.")
        }
    }
}
