import Cryptography
import Foundation
import HTTPCore
import HTTPServer
import Logging

/// `/admin/*` on the ops listener, behind `Authorization: Bearer <admin token>` (compared in
/// constant time; the token comes from `gateway.json` as a secret reference).
struct AdminRoutes: Sendable {
    let active: ActiveConfiguration
    let reloader: Reloader

    func mount(on router: inout Router) {
        router.get("/admin/manifests") { request, context in
            try authorize(request, context)
            let manifests = active.snapshot.manifests
            return .jsonObject([
                "sha256": manifests.contentHash, "loadedAt": manifests.loadedAt,
                "cities": manifests.cities.keys.sorted(),
                "services": manifests.services.keys.sorted(), "partners": manifests.partners.keys.sorted(),
            ])
        }
        router.post("/admin/reload") { request, context in
            try authorize(request, context)
            switch await reloader.reload(trigger: "admin") {
            case .success(let manifests):
                Log.info("manifests reloaded", ["sha256": manifests.contentHash, "requestId": context.requestId])
                return .jsonObject([
                    "status": "reloaded", "sha256": manifests.contentHash, "loadedAt": manifests.loadedAt,
                ])
            case .failure(let problems):
                Log.error("reload refused", ["problems": "\(problems.problems.count)", "requestId": context.requestId])
                var problem = Problem(
                    .invalidManifests,
                    detail:
                        "The new manifests have \(problems.problems.count) problem(s); the running set stays in force.",
                    requestId: context.requestId)
                let list = problems.problems.map(\.description)
                problem.jsonExtensions["errors"] = String(
                    decoding: (try? JSONSerialization.data(withJSONObject: list, options: [.withoutEscapingSlashes]))
                        ?? Data("[]".utf8), as: UTF8.self)
                return .problem(problem)
            }
        }
    }

    func authorize(_ request: Request, _ context: RequestContext) throws {
        guard let expected = active.snapshot.manifests.adminToken else {
            throw ProblemError(.adminDisabled, "No admin token is configured (gateway.json adminToken).")
        }
        let header = request.headers["authorization"] ?? ""
        guard header.hasPrefix("Bearer "), SecureBytes.equal(Array(header.dropFirst(7).utf8), Array(expected.utf8))
        else {
            throw ProblemError(.adminUnauthorized, "The admin endpoints need Authorization: Bearer <admin token>.")
        }
    }
}
