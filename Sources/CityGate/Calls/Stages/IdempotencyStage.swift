import Cryptography
import HTTPCore
import HTTPServer
import Logging
import PostgresClient
import Store

/// Stage 5c: `Idempotency-Key` on non-idempotent operations (draft-ietf-httpapi-idempotency-key-
/// header). The first call with a key goes on to the backend and its answer is kept 24 hours;
/// a retry with the same key and body gets that answer again (`Idempotent-Replayed: true`)
/// without reaching the backend; the same key with another body is 422; a retry while the first
/// is still running is 409. Keys are scoped by partner and citizen.
///
/// Only answers the backend gave are kept (a mapped problem included). A call refused before it
/// was sent (breaker, bulkhead) or whose outcome is unknown (timeout, reset) is forgotten, so the
/// retry runs again; the key goes to the backend as `Idempotency-Key: <partner>:<key>` so a
/// backend that de-duplicates can tell the two attempts are one.
struct IdempotencyStage: FinishingStage {
    let name = "idempotency"
    let store: (any IdempotencyKeeping)?
    let clock: @Sendable () -> Int64

    /// The longest key accepted (the draft leaves it to the server; Stripe's limit).
    static let maxKeyLength = 255

    func run(_ call: inout CallContext) async throws(ProblemError) {
        let target = try call.resolved(for: name)
        guard let store, !target.operation.idempotent, let header = call.request.headers["idempotency-key"] else {
            return
        }
        guard let key = Self.parse(header) else {
            throw ProblemError(
                .invalidIdempotencyKey,
                "Idempotency-Key must be a string of 1 to \(Self.maxKeyLength) printable ASCII characters (a structured-field string, or a bare token)."
            )
        }
        let scope = "\(try call.partner(for: name))\n\(call.token?.grant.subject ?? "")"
        let fingerprint = Self.fingerprint(target, payload: call.payload)
        let timeout = Int64(target.operation.timeoutMilliseconds / 1000) + 30
        let now = clock()
        let begun: IdempotencyStore.Begin
        do {
            begun = try await store.begin(
                scope: scope, key: key, fingerprint: fingerprint, now: now, staleAfter: timeout)
        } catch {
            throw ProblemError(
                .storeUnavailable, "Idempotency keys cannot be checked right now; retry shortly.",
                headers: [("Retry-After", "5")])
        }
        switch begun {
        case .started:
            call.idempotencyKey = (scope: scope, key: key)
        case .replay(let status, let contentType, let body):
            var response = Response(status: Status(code: status), headers: ["Content-Type": contentType], body: body)
            response.headers.add(name: "Idempotent-Replayed", value: "true")
            call.response = response
        case .inFlight:
            throw ProblemError(
                .idempotencyKeyInUse, "A request with this Idempotency-Key is still being processed; retry shortly.",
                headers: [("Retry-After", "1")])
        case .mismatch:
            throw ProblemError(
                .idempotencyKeyReused,
                "This Idempotency-Key was used with another request; use a new key for a new request.")
        }
    }

    /// Keeps the backend's answer for the key, or forgets a call whose outcome is unknown.
    func finish(_ call: CallContext, response: Response, refusal: String?) async {
        guard let store, let claimed = call.idempotencyKey else { return }
        do {
            if call.backendAnswered {
                try await store.complete(
                    scope: claimed.scope, key: claimed.key, status: response.status.code,
                    contentType: response.headers["content-type"] ?? "application/json", body: response.body,
                    now: clock())
            } else {
                try await store.abandon(scope: claimed.scope, key: claimed.key)
            }
        } catch {
            // The key stays in flight until it is stale: retries get 409 until then, never a
            // second backend call.
            Log.error("idempotency record failed", ["requestId": call.http.requestId, "error": Self.code(error)])
        }
    }

    /// The key of an `Idempotency-Key` value: an RFC 8941 string (`"…"`, with `\"` and `\\`)
    /// or, as many clients send it, a bare token of printable ASCII without spaces.
    static func parse(_ value: String) -> String? {
        let bytes = Array(value.utf8)
        var key: [UInt8] = []
        if bytes.first == UInt8(ascii: "\"") {
            guard bytes.count >= 2, bytes.last == UInt8(ascii: "\"") else { return nil }
            var index = 1
            while index < bytes.count - 1 {
                var byte = bytes[index]
                if byte == UInt8(ascii: "\\") {
                    index += 1
                    guard index < bytes.count - 1,
                        bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "\\")
                    else { return nil }
                    byte = bytes[index]
                } else if byte == UInt8(ascii: "\"") {
                    return nil
                }
                guard (0x20...0x7E).contains(byte) else { return nil }
                key.append(byte)
                index += 1
            }
        } else {
            guard bytes.allSatisfy({ (0x21...0x7E).contains($0) && $0 != UInt8(ascii: "\"") }) else { return nil }
            key = bytes
        }
        guard !key.isEmpty, key.count <= maxKeyLength else { return nil }
        return String(decoding: key, as: UTF8.self)
    }

    /// What a key is bound to: the operation and the signed body, hashed.
    static func fingerprint(_ target: CallContext.Target, payload: [UInt8]) -> String {
        let head = Array("\(target.city.code)\n\(target.service.id)\n\(target.operation.name)\n".utf8)
        return Encoding.hex((try? Digest.sha256.hash(head + payload)) ?? [])
    }

    /// What a log line may say of a store failure: its code, never its message (which can quote
    /// stored values).
    static func code(_ error: any Error) -> String {
        switch error {
        case let error as SQLiteError: "sqlite:\(error.code)"
        case let error as PostgresError: "postgres:\(error.code)"
        default: "unknown"
        }
    }
}
