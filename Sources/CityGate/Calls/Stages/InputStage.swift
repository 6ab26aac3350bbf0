import HTTPCore
import HTTPServer

/// Stage 5: the signed body as a JSON object valid against the operation's schema, read straight
/// from bytes (strict RFC 8259, a member named twice refused: the schema must check exactly what
/// the backend request is built from). 400 for what is not JSON, 422 listing the violations (at
/// most ``CallPipeline/listedViolations``, the rest counted in `errorsOmitted`).
struct InputStage: CallStage {
    let name = "input"

    func run(_ call: inout CallContext) async throws(ProblemError) {
        let target = try call.resolved(for: name)
        let payload = call.payload
        let value: JSONValue
        if payload.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            value = .object([:])
        } else {
            do { value = try JSONReader.parse(payload) } catch {
                throw ProblemError(.invalidJSON, "The request body is not JSON (\(error)).")
            }
        }
        if let schema = target.operation.input {
            let (violations, total) = schema.validate(value, keepingAtMost: CallPipeline.listedViolations)
            if total > 0 {
                let listed = total > violations.count ? " (the first \(violations.count) are listed)" : ""
                var refusal = ProblemError(
                    .invalidInput, "The input breaks \(total) rule(s) of operation \(target.operation.name)\(listed).")
                let list = JSONValue.array(
                    violations.map {
                        // A path is at most 200 bytes: nested names come from the caller too.
                        let path = $0.path.utf8.count > 200 ? String($0.path.prefix(200)) + "…" : $0.path
                        return .object(["path": .string(path), "message": .string($0.message)])
                    })
                refusal.jsonExtensions["errors"] = String(decoding: JSONWriter.encode(list), as: UTF8.self)
                if total > violations.count {
                    refusal.jsonExtensions["errorsOmitted"] = String(total - violations.count)
                }
                throw refusal
            }
        }
        guard case .object(let object) = value else {
            throw ProblemError(.invalidJSON, "The request body must be a JSON object.")
        }
        call.input = object
    }
}
