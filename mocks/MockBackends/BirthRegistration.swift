// Ningbo's "birth, one thing" bundle (出生一件事): one application opens a case covering the
// birth certificate, household registration and medical insurance. JSON, but in the backend's
// own vocabulary: compact dates (yyyyMMdd), numeric codes, a case number of its own. Demo only.
import COpenSSL
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
        documentRoutes(&router)
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
                // Whose case it is: only they may fetch its certificate or add to it.
                "owner": request.headers["x-citizen-subject"] ?? "",
                "items": [
                    ["code": "BC", "name": "出生医学证明", "state": "10"], ["code": "HK", "name": "户口登记", "state": "00"],
                    ["code": "YB", "name": "医保参保", "state": "00"],
                ],
            ]
            existing[key] = created
            return created
        }
        return json(answer.filter { $0.key != "owner" }, status: Status(code: 201))
    }
}

/// The birth certificate (电子证照) as a real PDF, and uploads of supporting documents.
extension BirthRegistration {
    static func documentRoutes(_ router: inout Router) {
        router.get("/births/certificates/{number}") { request, context in
            let number = context.pathParameters["number"] ?? ""
            // Another citizen's certificate answers like one not issued.
            guard owns(number, request.headers["x-citizen-subject"]) else {
                return json(["errorCode": "E404", "errorMsg": "证照不存在"], status: .notFound)
            }
            return Response(
                status: .ok,
                headers: [
                    "Content-Type": "application/pdf",
                    "Content-Disposition": "attachment; filename=\"birth-certificate-\(number).pdf\"",
                ],
                body: pdf(text: "Birth certificate \(number)"))
        }
        router.post("/births/attachments") { request, _ in
            // multipart/form-data: the case number field and one PDF file part.
            guard let type = request.headers["content-type"], type.hasPrefix("multipart/form-data"),
                let boundary = type.components(separatedBy: "boundary=").last, !boundary.isEmpty
            else {
                return json(["errorCode": "E415", "errorMsg": "须为 multipart/form-data"], status: .unsupportedMediaType)
            }
            let parts = multipartParts(request.body, boundary: boundary)
            guard let file = parts.first(where: { $0.filename != nil }), file.bytes.starts(with: Array("%PDF-".utf8)),
                file.contentType == "application/pdf"
            else { return json(["errorCode": "E422", "errorMsg": "附件须为 PDF"], status: .unprocessableContent) }
            guard
                let caseNo = parts.first(where: { $0.name == "caseNo" }).map({
                    String(decoding: $0.bytes, as: UTF8.self)
                })
            else { return json(["errorCode": "E422", "errorMsg": "缺少案件号"], status: .unprocessableContent) }
            guard owns(caseNo, request.headers["x-citizen-subject"]) else {
                return json(["errorCode": "E404", "errorMsg": "案件不存在"], status: .notFound)
            }
            var digest = [UInt8](repeating: 0, count: 32)
            var length: UInt32 = 0
            _ = EVP_Digest(file.bytes, file.bytes.count, &digest, &length, EVP_sha256(), nil)
            return json(
                [
                    "attachmentId": "ATT-\(caseNo)-\(file.bytes.count)", "size": file.bytes.count,
                    "sha256": digest.map { String(format: "%02x", $0) }.joined(), "filename": file.filename ?? "",
                ], status: Status(code: 201))
        }
    }

    /// Whether case `number` exists and was applied for by `subject`.
    static func owns(_ number: String, _ subject: String?) -> Bool {
        guard let subject, !subject.isEmpty else { return false }
        return applications.withLock {
            $0.values.contains { $0["caseNo"] as? String == number && $0["owner"] as? String == subject }
        }
    }

    /// A one-page PDF with `text` on it, its cross-reference table at the right offsets.
    static func pdf(text: String) -> [UInt8] {
        let stream = "BT /F1 14 Tf 20 50 Td (\(text)) Tj ET"
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            "<< /Length \(stream.utf8.count) >>\nstream\n\(stream)\nendstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
        var out = "%PDF-1.4\n"
        var offsets: [Int] = []
        for (index, object) in objects.enumerated() {
            offsets.append(out.utf8.count)
            out += "\(index + 1) 0 obj\n\(object)\nendobj\n"
        }
        let xref = out.utf8.count
        out += "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        for offset in offsets { out += String(format: "%010d 00000 n \n", offset) }
        out += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        return Array(out.utf8)
    }

    struct Part {
        var name = ""
        var filename: String?
        var contentType: String?
        var bytes: [UInt8] = []
    }

    /// The parts of a multipart body (a mock's parser: enough for the gateway's own bodies).
    static func multipartParts(_ body: [UInt8], boundary: String) -> [Part] {
        let delimiter = Array("--\(boundary)".utf8)
        var parts: [Part] = []
        var starts: [Int] = []
        var index = 0
        while index + delimiter.count <= body.count {
            if body[index] == delimiter[0], Array(body[index..<(index + delimiter.count)]) == delimiter {
                starts.append(index)
                index += delimiter.count
            } else {
                index += 1
            }
        }
        for (position, start) in starts.enumerated().dropLast() {
            let from = start + delimiter.count + 2  // past "\r\n"
            let to = starts[position + 1] - 2  // before "\r\n"
            guard from < to else { continue }
            let chunk = Array(body[from..<to])
            let separator: [UInt8] = [13, 10, 13, 10]
            guard let split = (0..<(chunk.count - 3)).first(where: { Array(chunk[$0..<($0 + 4)]) == separator }) else {
                continue
            }
            let head = String(decoding: chunk[..<split], as: UTF8.self)
            var part = Part(bytes: Array(chunk[(split + 4)...]))
            for line in head.components(separatedBy: "\r\n") {
                if line.lowercased().hasPrefix("content-type:") {
                    part.contentType = line.dropFirst(13).trimmingCharacters(in: .whitespaces)
                }
                if let name = line.components(separatedBy: "name=\"").dropFirst().first?.components(separatedBy: "\"")
                    .first,
                    line.contains("; name=")
                {
                    part.name = name
                }
                if let filename = line.components(separatedBy: "filename=\"").dropFirst().first?.components(
                    separatedBy: "\""
                ).first {
                    part.filename = filename
                }
            }
            parts.append(part)
        }
        return parts
    }
}
