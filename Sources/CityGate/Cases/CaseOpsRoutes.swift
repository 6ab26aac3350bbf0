import Foundation
import HTTPCore
import HTTPServer
import Logging

/// The supervisors' and departments' side of cases, on the ops listener (admin token):
///
/// ```
///   GET  /admin/supervision?city=330100&month=2026-11&format=json|csv|html   the monthly report
///   GET  /admin/followups?city=&state=open|all                               follow-ups of poor ratings
///   POST /admin/followups/{id}/close   {"note"}                              closed; the partner is pushed the outcome
/// ```
struct CaseOpsRoutes: Sendable {
    let active: ActiveConfiguration
    let store: any CaseKeeping
    let pushes: CasePushes
    let audit: (any AuditKeeping)?
    let authorize: @Sendable (Request, RequestContext) throws -> Void
    let clock: @Sendable () -> Int64

    /// The longest closing note (characters).
    static let maxNote = 1_000

    func mount(on router: inout Router) {
        router.get("/admin/supervision") { request, context in
            try authorize(request, context)
            return try await supervision(request)
        }
        router.get("/admin/followups") { request, context in
            try authorize(request, context)
            let query = FormEncoding.decode(request.query ?? "") ?? [:]
            let state = query["state"] ?? "open"
            guard state == "open" || state == "all" else {
                throw ProblemError(.invalidQuery, "state must be open or all.")
            }
            let list = try await stored {
                try await store.followUps(city: query["city"], openOnly: state == "open", limit: 500)
            }
            return .jsonObject(["followUps": list.map(Self.summary)])
        }
        router.post("/admin/followups/{id}/close") { request, context in
            try authorize(request, context)
            return try await close(request, context)
        }
    }

    private func supervision(_ request: Request) async throws -> Response {
        let snapshot = active.snapshot
        let query = FormEncoding.decode(request.query ?? "") ?? [:]
        guard let code = query["city"], let city = snapshot.manifests.cities[code] else {
            throw ProblemError(
                .invalidQuery,
                "city must be one of the served city codes (\(snapshot.manifests.cities.keys.sorted().joined(separator: ", ")))."
            )
        }
        let monthText = query["month"] ?? ""
        let parts = monthText.split(separator: "-")
        guard monthText.count == 7, parts.count == 2, let year = Int(parts[0]), let month = Int(parts[1]),
            (2000...2100).contains(year), (1...12).contains(month)
        else { throw ProblemError(.invalidQuery, "month must be written YYYY-MM (2026-11).") }
        let format = query["format"] ?? "json"
        guard ["json", "csv", "html"].contains(format) else {
            throw ProblemError(.invalidQuery, "format must be json, csv or html.")
        }
        var names: [String: String] = [:]
        for service in snapshot.manifests.services.values { names[service.departmentCode] = service.departmentName }
        let built = try await stored {
            try await SupervisionReport.build(
                store: store, city: city, departmentNames: names, year: year, month: month, now: clock())
        }
        guard let report = built else { throw ProblemError(.invalidQuery, "month must be written YYYY-MM (2026-11).") }
        switch format {
        case "csv":
            return Response(
                status: .ok,
                headers: [
                    "Content-Type": "text/csv; charset=utf-8",
                    "Content-Disposition": "attachment; filename=\"supervision-\(code)-\(report.month).csv\"",
                ], body: report.csv())
        case "html":
            return Response(
                status: .ok,
                headers: [
                    "Content-Type": "text/html; charset=utf-8",
                    // The page is self-contained: nothing may load, nothing may run.
                    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
                ], body: Array(report.html().utf8))
        default:
            return .jsonObject(report.json())
        }
    }

    private func close(_ request: Request, _ context: RequestContext) async throws -> Response {
        let id = Int64(context.pathParameters["id"] ?? "") ?? -1
        guard case .object(let object)? = try? JSONReader.parse(request.body),
            let note = object["note"]?.stringValue, !note.isEmpty, note.count <= Self.maxNote,
            object.keys.allSatisfy({ $0 == "note" })
        else {
            throw ProblemError(
                .invalidQuery,
                "The body must be {\"note\": \"…\"}: what the department did, 1 to \(Self.maxNote) characters.")
        }
        let now = clock()
        let masked = PersonalDataMask.mask(note)
        let outcome = try await stored { try await store.closeFollowUp(id: id, note: masked, at: now) }
        let followUp: CaseStore.FollowUp
        switch outcome {
        case .unknown: throw ProblemError(.unknownFollowUp, "No follow-up \(id).")
        case .alreadyClosed(let closed):
            // The push is queued again (its id makes that a no-op when it is queued already), so
            // repeating a close whose push could not be queued completes it.
            _ = await queuePush(closed, request)
            throw ProblemError(.followUpClosed, "Follow-up \(id) was closed before.")
        case .closed(let closed): followUp = closed
        }
        do {
            try await audit?.append(
                kind: "followup.closed", at: now,
                fields: [
                    "followUp": id, "city": followUp.city, "case": followUp.number, "requestId": context.requestId,
                ])
        } catch {
            Log.error("audit record failed", ["requestId": context.requestId, "error": StoreErrorCode.of(error)])
        }
        let queued = await queuePush(followUp, request)
        if queued == .failed {
            throw ProblemError(
                .inboxUnavailable,
                "Follow-up \(id) is closed but the partner's push could not be queued; repeat the request to queue it.",
                headers: [("Retry-After", "5")])
        }
        var summary = Self.summary(followUp)
        summary["pushed"] = queued == .queued
        return .jsonObject(summary)
    }

    private func queuePush(_ followUp: CaseStore.FollowUp, _ request: Request) async -> CasePushes.Queued {
        guard let record = try? await store.find(city: followUp.city, number: followUp.number) else { return .failed }
        return await pushes.queue(
            CasePushes.followUpClosed(followUp, of: record), for: record, snapshot: active.snapshot,
            raw: EventRoutes.rawRequest(request))
    }

    static func summary(_ followUp: CaseStore.FollowUp) -> [String: Any] {
        var object: [String: Any] = [
            "id": followUp.id, "city": followUp.city, "caseNumber": followUp.number,
            "department": followUp.department, "openedAt": PushClock.rfc3339(followUp.openedAt),
            "state": followUp.closedAt == nil ? "open" : "closed",
        ]
        if let closedAt = followUp.closedAt { object["closedAt"] = PushClock.rfc3339(closedAt) }
        if let note = followUp.note { object["note"] = note }
        return object
    }

    private func stored<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let refusal as ProblemError { throw refusal } catch {
            throw ProblemError(.storeUnavailable, "The case store cannot be read.", headers: [("Retry-After", "5")])
        }
    }
}
