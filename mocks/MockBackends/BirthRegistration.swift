// Ningbo's "birth, one thing" bundle (出生一件事): one application opens a case covering the
// birth certificate, household registration and medical insurance. JSON, but in the backend's
// own vocabulary: compact dates (yyyyMMdd), numeric codes, a case number of its own. Demo only.
import Foundation
import HTTPCore
import HTTPServer
import Synchronization

enum BirthRegistration {
    /// Applications by Idempotency-Key: a retried application returns the first answer.
    static let applications = Mutex<[String: [String: Any]]>([:])
    static let counter = Mutex(0)

    static func router() -> Router {
        var router = Router()
        router.get("/health") { _, _ in .json("{\"status\":\"ok\"}") }
        router.post("/births/applications") { request, _ in apply(request) }
        return router
    }

    static func apply(_ request: Request) -> Response {
        guard let body = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any] else {
            return json(["errorCode": "E400", "errorMsg": "请求不是 JSON"], status: .badRequest)
        }
        guard let mother = body["motherIdNo"] as? String, mother.count == 18,
            request.headers["x-citizen-subject"] != nil
        else { return json(["errorCode": "E403", "errorMsg": "缺少申请人身份"], status: .forbidden) }
        guard let date = body["birthDate"] as? String, date.count == 8, date.allSatisfy(\.isNumber) else {
            return json(["errorCode": "E422", "errorMsg": "出生日期须为 yyyyMMdd"], status: .unprocessableContent)
        }
        guard let gender = body["gender"] as? String, ["1", "2"].contains(gender) else {
            return json(["errorCode": "E422", "errorMsg": "性别代码须为 1 或 2"], status: .unprocessableContent)
        }
        let key = request.headers["idempotency-key"] ?? UUID().uuidString
        let answer = applications.withLock { existing -> [String: Any] in
            if let first = existing[key] { return first }
            let number = counter.withLock { count -> Int in
                count += 1
                return count
            }
            let created: [String: Any] = [
                "caseNo": String(format: "NB-CS-2026-%06d", number), "status": "01", "acceptedAt": "20261202164533",
                "items": [
                    ["code": "BC", "name": "出生医学证明", "state": "10"], ["code": "HK", "name": "户口登记", "state": "00"],
                    ["code": "YB", "name": "医保参保", "state": "00"],
                ],
            ]
            existing[key] = created
            return created
        }
        return json(answer, status: Status(code: 201))
    }
}
