import HTTPCore
import HTTPServer
import Logging

/// Stage 5d: an operation that opens a case (`opensCase`) has its case recorded when the
/// backend's answer goes back — number, city, service, department, the applicant's subject hash,
/// the partner, the time received — with its deadlines counted in the city's working days, and
/// the answer gains those deadlines (`"deadlines": {"countsFrom", "promisedBy", "legalBy"}`).
///
/// It works on the way out (``decorate(_:_:)``), after the backend answered successfully; a
/// replayed answer (idempotency) never reaches it, so a retried application is recorded once.
/// A failure to record is logged and counted, not answered: the backend has opened the case,
/// and refusing its number now would not close it.
struct CaseStage: DecoratingStage {
    let name = "case"
    let store: (any CaseKeeping)?
    let metrics: Metrics?
    let clock: @Sendable () -> Int64

    func run(_ call: inout CallContext) async throws(ProblemError) {}

    func decorate(_ response: inout Response, _ call: CallContext) async {
        guard let target = call.target, let field = target.operation.opensCaseField, response.status.code == 200,
            case .object(var answer)? = try? JSONReader.parse(response.body), case .string(let number)? = answer[field],
            !number.isEmpty, answer["deadlines"] == nil
        else { return }
        let now = clock()
        let service = target.service
        let deadlines = target.city.calendar.deadlines(
            receivedAt: now, legalDays: service.legalDays, promisedDays: service.promisedDays)
        if let store {
            do {
                try await store.record(
                    CaseStore.Record(
                        city: target.city.code, number: number, service: service.id,
                        department: service.departmentCode, subject: call.token?.grant.subject ?? "",
                        partner: call.partnerId ?? "", requestId: call.http.requestId, receivedAt: now,
                        deadlines: deadlines))
            } catch {
                metrics?.increment("citygate_case_record_failures_total", ["city": target.city.code])
                Log.error(
                    "case record failed", ["requestId": call.http.requestId, "error": IdempotencyStage.code(error)])
            }
        }
        answer["deadlines"] = .object([
            "countsFrom": .string(deadlines.countsFrom.description),
            "promisedBy": .string(deadlines.promisedBy.description), "legalBy": .string(deadlines.legalBy.description),
        ])
        response.body = JSONWriter.encode(.object(answer))
    }
}
