// Mock government backends for the sample manifests (an external system: demos and tests only).
//
//   citygate-mock-backends [--host 127.0.0.1] [--base-port 18100 | 0] [--latency-ms N] [--error-rate R]
//
// Serves hrss (+0), traffic-police (+1), public-security (+2, SOAP-style XML), approvals (+3),
// halls (+4), gjj (+5, SOAP 1.1 in GBK with WS-Security) and births (+6) on consecutive ports from --base-port, or on ephemeral ports with --base-port 0.
// Prints one JSON line naming each backend's port. --error-rate answers that share of requests
// with 503; --latency-ms delays every answer.
import EventLoops
import Foundation
import HTTPCore
import HTTPServer
import Synchronization

struct Options {
    var host = "127.0.0.1"
    var basePort = 18100
    var latency = 0
    var errorRate = 0.0
}

let usage = """
    usage: citygate-mock-backends [--host 127.0.0.1] [--base-port 18100 | 0] [--latency-ms N] [--error-rate R]

    Mock government backends for the sample manifests (demos and tests only): hrss (+0),
    traffic-police (+1), public-security (+2), approvals (+3), halls (+4), gjj (+5) and births (+6) on consecutive ports
    from --base-port, or on ephemeral ports with 0. Prints one JSON line naming each port.

    """

/// A usage mistake: the message and the usage on standard error, exit 2.
func usageError(_ message: String) -> Never {
    FileHandle.standardError.write(Data("citygate-mock-backends: \(message)\n\n\(usage)".utf8))
    exit(2)
}

var options = Options()
var arguments = CommandLine.arguments.dropFirst()
if arguments.contains("--help") || arguments.contains("-h") {
    print(usage, terminator: "")
    exit(0)
}
while let flag = arguments.popFirst() {
    let known = ["--host", "--base-port", "--latency-ms", "--error-rate"]
    guard known.contains(flag) else { usageError("unknown option '\(flag.prefix(64))'") }
    guard let value = arguments.popFirst(), !value.hasPrefix("--") else { usageError("\(flag) needs a value") }
    switch flag {
    case "--host": options.host = value
    case "--base-port":
        guard let port = Int(value), (0...65535).contains(port) else { usageError("--base-port takes 0 to 65535") }
        options.basePort = port
    case "--latency-ms":
        guard let latency = Int(value), latency >= 0 else { usageError("--latency-ms takes milliseconds") }
        options.latency = latency
    default:
        guard let rate = Double(value), (0...1).contains(rate) else { usageError("--error-rate takes 0 to 1") }
        options.errorRate = rate
    }
}

let settings = options
final class CaseCounter: Sendable {
    let next = Atomic<Int>(1)
}
let cases = CaseCounter()

/// Every request a backend received (method, path, query and the identity headers), kept per
/// backend for tests that must show what a backend was — or was not — asked
/// (GET /_mock/requests on that backend; GET /_mock/identities on hrss is the same list).
final class RequestRecorder: Sendable {
    private let seen = Mutex<[[String: String]]>([])
    func record(_ request: Request) {
        var entry: [String: String] = ["method": request.method, "path": request.path]
        if let query = request.query { entry["query"] = query }
        for name in [
            "X-Citizen-Subject", "X-Auth-Level", "X-Acting-Agent", "X-Delegation-Id", "traceparent", "tracestate",
            "Idempotency-Key",
        ] {
            if let value = request.headers[name] { entry[name] = value }
        }
        seen.withLock { list in
            list.append(entry)
            if list.count > 200 { list.removeFirst(list.count - 200) }
        }
    }
    var all: [[String: String]] { seen.withLock { $0 } }
}

/// Records every request except the recorder's own and health probes, then runs `router`.
struct RecordingRouter: Responder {
    let recorder = RequestRecorder()
    var router: Router

    func respond(to request: Request, context: RequestContext) async -> Response {
        if request.path == "/_mock/requests" || request.path == "/_mock/identities" {
            let data = (try? JSONSerialization.data(withJSONObject: recorder.all, options: [.sortedKeys])) ?? Data()
            return Response(status: .ok, headers: ["Content-Type": "application/json"], body: Array(data))
        }
        // Token requests are the gateway's own, not a citizen's: not recorded.
        if request.path != "/health" && request.path != "/oauth/token" && !request.path.hasPrefix("/_mock/") {
            recorder.record(request)
        }
        return await router.respond(to: request, context: context)
    }
}

/// A refusal for a call that does not say which citizen it is for: a real backend keys every
/// citizen record on the identity it is given and answers nothing without one.
func missingSubject(_ what: String) -> Response {
    json(["message": "\(what) (the citizen the call is for) is required"], status: .forbidden)
}

/// Which citizen applied for which case: only they may follow it.
final class CaseOwners: Sendable {
    private let owners = Mutex<[String: String]>([:])
    func record(_ number: String, subject: String) { owners.withLock { $0[number] = subject } }
    func owner(of number: String) -> String? { owners.withLock { $0[number] } }
}
let caseOwners = CaseOwners()

/// Partner events the gateway delivers: processed once per Idempotency-Key (as a real backend
/// must), with counts for tests (GET /_mock/events) and an outage switch
/// (POST /_mock/events/mode with body `down` or `up`) to simulate maintenance.
final class EventRecorder: Sendable {
    struct State {
        var processed: [String: String] = [:]  // idempotency key → event id
        var deliveries = 0
        var duplicates = 0
        var arrivals: [String] = []  // event ids in the order first processed
        var down = false
    }
    private let state = Mutex(State())

    func receive(_ request: Request) -> Response {
        let key = request.headers["Idempotency-Key"] ?? ""
        let body = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] ?? [:]
        let eventId = body["eventId"] as? String ?? ""
        guard !key.isEmpty, !eventId.isEmpty else {
            return json(["message": "Idempotency-Key and eventId required"], status: .badRequest)
        }
        let down = state.withLock { state -> Bool in
            if state.down { return true }
            state.deliveries += 1
            if state.processed[key] != nil {
                state.duplicates += 1
            } else {
                state.processed[key] = eventId
                state.arrivals.append(eventId)
            }
            return false
        }
        if down { return json(["message": "maintenance"], status: .serviceUnavailable) }
        return json(["status": "accepted"], status: .accepted)
    }

    func setDown(_ down: Bool) { state.withLock { $0.down = down } }

    var summary: [String: Any] {
        state.withLock { state in
            [
                "processed": state.processed, "deliveries": state.deliveries, "duplicates": state.duplicates,
                "arrivals": state.arrivals,
            ]
        }
    }
}
let events = EventRecorder()

/// Mounts the event recorder's routes on a backend.
func mountEventRoutes(_ router: inout Router, path: String) {
    router.post(path, handler: knobs { request, _ in events.receive(request) })
    router.get("/_mock/events") { _, _ in
        let data = (try? JSONSerialization.data(withJSONObject: events.summary, options: [.sortedKeys])) ?? Data()
        return Response(status: .ok, headers: ["Content-Type": "application/json"], body: Array(data))
    }
    router.post("/_mock/events/mode") { request, _ in
        events.setDown(String(decoding: request.body, as: UTF8.self) == "down")
        return json(["status": "ok"])
    }
}

/// Wraps a handler with the latency and error-rate knobs.
func knobs(_ handler: @escaping Router.Handler) -> Router.Handler {
    { request, context in
        if settings.latency > 0 { try await Task.sleep(for: .milliseconds(settings.latency)) }
        if settings.errorRate > 0 && Double.random(in: 0..<1) < settings.errorRate {
            return .json("{\"code\":503,\"message\":\"maintenance\"}", status: .serviceUnavailable)
        }
        return try await handler(request, context)
    }
}

func query(_ request: Request) -> [String: String] {
    var result: [String: String] = [:]
    for pair in (request.query ?? "").split(separator: "&") {
        let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
        if parts.count == 2 { result[parts[0]] = parts[1] }
    }
    return result
}

func form(_ body: [UInt8]) -> [String: String] {
    var result: [String: String] = [:]
    for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
        let parts = pair.split(separator: "=", maxSplits: 1).map {
            String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
        }
        if parts.count == 2 { result[parts[0]] = parts[1] }
    }
    return result
}

func element(_ name: String, in xml: String) -> String? {
    guard let open = xml.range(of: "<\(name)>"),
        let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex)
    else {
        return nil
    }
    return String(xml[open.upperBound..<close.lowerBound])
}

func json(_ object: [String: Any], status: Status = .ok) -> Response {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    return Response(status: status, headers: ["Content-Type": "application/json"], body: Array(data))
}

let now = ISO8601DateFormatter().string(from: Date())
var routers: [(String, Router)] = []

var hrss = Router()
hrss.get("/health") { _, _ in .json("{\"status\":\"ok\"}") }
hrss.get(
    "/api/v2/accounts/{id}/balance",
    handler: knobs { request, context in
        guard let subject = request.headers["X-Citizen-Subject"], !subject.isEmpty else {
            return missingSubject("X-Citizen-Subject")
        }
        let id = context.pathParameters["id"] ?? ""
        if id == "unknown" { return json(["code": 404, "message": "no such account"], status: .notFound) }
        let year = Int(query(request)["year"] ?? "") ?? 2026
        return json(["code": 0, "data": ["amount": 12_345.67 + Double(year % 10), "updated_at": "\(year)-11-01"]])
    })
mountEventRoutes(&hrss, path: "/api/v2/consents/revoked")
routers.append(("hrss", hrss))

let trafficAPIKey: String = {
    let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("keys/traffic-api-key.secret")
    return ((try? String(contentsOf: file, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
}()

var traffic = Router()
traffic.get("/health") { _, _ in .json("{\"status\":\"ok\"}") }
traffic.post(
    "/violations/query",
    handler: knobs { request, _ in
        // The traffic police system's API key, from the file the city's credentials point at.
        guard request.headers["X-API-Key"] == trafficAPIKey, !trafficAPIKey.isEmpty else {
            return json(["message": "a valid X-API-Key is required"], status: .unauthorized)
        }
        let fields = form(request.body)
        guard let plate = fields["hphm"], fields["fdjh"] != nil else {
            return json(["message": "hphm and fdjh required"], status: .badRequest)
        }
        guard let citizen = fields["citizen"], !citizen.isEmpty else { return missingSubject("citizen") }
        if plate == "Z99999" { return json(["message": "vehicle not found"], status: .notFound) }
        return json([
            "total": 1,
            "records": [["code": "1344", "place": "文三路与学院路口", "fine": 200, "points": 3, "date": "2026-10-12"]],
        ])
    })
routers.append(("traffic-police", traffic))

var security = Router()
security.get("/health") { _, _ in .json("{\"status\":\"ok\"}") }
security.post(
    "/soap/AppointmentService",
    handler: knobs { request, _ in
        let xml = String(decoding: request.body, as: UTF8.self)
        guard let citizen = element("Citizen", in: xml), !citizen.isEmpty else { return missingSubject("Citizen") }
        guard let date = element("Date", in: xml), element("Station", in: xml) != nil else {
            return Response(
                status: .badRequest, headers: ["Content-Type": "text/xml"],
                body: Array("<Fault>bad request</Fault>".utf8))
        }
        if date.hasSuffix("-25") {
            return Response(
                status: .conflict, headers: ["Content-Type": "text/xml"], body: Array("<Fault>full</Fault>".utf8))
        }
        let answer = """
            <?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>\
            <BookAppointmentResponse><AppointmentId>APT-\(cases.next.add(1, ordering: .relaxed).oldValue)</AppointmentId>\
            <Slot>\(date) 09:30</Slot></BookAppointmentResponse></soap:Body></soap:Envelope>
            """
        return Response(status: .ok, headers: ["Content-Type": "text/xml; charset=utf-8"], body: Array(answer.utf8))
    })
routers.append(("public-security", security))

/// The approvals system's OAuth 2 authorization server (client-credentials grant, the client
/// authenticated by HTTP Basic) and the bearer check on its permit API. `POST /_mock/oauth/revoke`
/// revokes every token issued so far (as a restart of a real one would); `GET /_mock/oauth` counts
/// the tokens issued.
final class MockOAuth: Sendable {
    static let clientId = "citygate-330100"
    /// The demo client secret, from the same file the city's `credentials` point at.
    static let clientSecret: String = {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("keys/approvals-oauth-client.secret")
        return ((try? String(contentsOf: file, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }()
    private let state = Mutex<(valid: Set<String>, issued: Int)>(([], 0))

    func token(_ request: Request) -> Response {
        let expected = "Basic " + Data("\(Self.clientId):\(Self.clientSecret)".utf8).base64EncodedString()
        guard !Self.clientSecret.isEmpty, request.headers["Authorization"] == expected else {
            return json(["error": "invalid_client"], status: .unauthorized)
        }
        guard String(decoding: request.body, as: UTF8.self).contains("grant_type=client_credentials") else {
            return json(["error": "unsupported_grant_type"], status: .badRequest)
        }
        let token = state.withLock { state -> String in
            state.issued += 1
            let token = "mock-token-\(state.issued)-\(UUID().uuidString)"
            state.valid.insert(token)
            return token
        }
        return json(["access_token": token, "token_type": "Bearer", "expires_in": 300])
    }

    func authorized(_ request: Request) -> Bool {
        guard let header = request.headers["Authorization"], header.hasPrefix("Bearer ") else { return false }
        let token = String(header.dropFirst(7))
        return state.withLock { $0.valid.contains(token) }
    }

    func revokeAll() { state.withLock { $0.valid.removeAll() } }
    var issued: Int { state.withLock { $0.issued } }
}
let oauth = MockOAuth()
func unauthorized() -> Response { json(["message": "a valid bearer token is required"], status: .unauthorized) }

var approvals = Router()
approvals.get("/health") { _, _ in .json("{\"status\":\"ok\"}") }
approvals.post("/oauth/token") { request, _ in oauth.token(request) }
approvals.post("/_mock/oauth/revoke") { _, _ in
    oauth.revokeAll()
    return Response(status: .noContent)
}
approvals.get("/_mock/oauth") { _, _ in json(["issued": oauth.issued]) }
approvals.post(
    "/api/permits",
    handler: knobs { request, _ in
        guard oauth.authorized(request) else { return unauthorized() }
        guard let body = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
            let city = body["city"] as? String
        else { return json(["message": "bad request"], status: .unprocessableContent) }
        guard let applicant = body["applicantSubject"] as? String, !applicant.isEmpty else {
            return missingSubject("applicantSubject")
        }
        let number = String(format: "%@-2026-%06d", city, cases.next.add(1, ordering: .relaxed).oldValue)
        caseOwners.record(number, subject: applicant)
        return json(["case_no": number, "stage": "受理"], status: .created)
    })
approvals.get(
    "/api/permits/{case}",
    handler: knobs { request, context in
        guard oauth.authorized(request) else { return unauthorized() }
        let number = context.pathParameters["case"] ?? ""
        guard let applicant = query(request)["applicant"], !applicant.isEmpty else {
            return missingSubject("applicant")
        }
        // Another citizen's case answers exactly like a case that does not exist.
        guard caseOwners.owner(of: number) == applicant else {
            return json(["message": "no such case"], status: .notFound)
        }
        return json(["case_no": number, "stage": "审核中", "updated_at": now])
    })
mountEventRoutes(&approvals, path: "/api/permits/events")
routers.append(("approvals", approvals))

var halls = Router()
halls.get("/health") { _, _ in .json("{\"status\":\"ok\"}") }
halls.get(
    "/halls/{hall}/queue",
    handler: knobs { _, context in
        let hall = context.pathParameters["hall"] ?? ""
        guard ["citizen-center", "west-lake", "futian"].contains(hall) else {
            return json(["message": "no such hall"], status: .notFound)
        }
        return json(["waiting": hall.count, "eta_minutes": hall.count * 3, "updated_at": now])
    })
routers.append(("halls", halls))
// Ningbo (330200): the provident fund's SOAP service (+5) and the birth registration bundle (+6).
routers.append(("gjj", ProvidentFund.router()))
routers.append(("births", BirthRegistration.router()))

do {
    let group = try EventLoopGroup(threadCount: 1)
    var ports: [String: Int] = [:]
    var servers: [HTTPServer] = []
    for (offset, (name, router)) in routers.enumerated() {
        let port = options.basePort == 0 ? 0 : options.basePort + offset
        let server = HTTPServer(
            configuration: HTTPServer.Configuration(address: try SocketAddress(parsing: "\(options.host):\(port)")),
            responder: RecordingRouter(router: router),
            group: group)
        ports[name] = Int(try server.start().port)
        servers.append(server)
    }
    let data = try JSONSerialization.data(withJSONObject: ["mockBackends": ports], options: [.sortedKeys])
    // One write so the line arrives whole and at once (a pipe would buffer print()).
    FileHandle.standardOutput.write(data + Data("\n".utf8))
    while true { sleep(3600) }
} catch {
    FileHandle.standardError.write(Data("mock backends cannot start: \(error)\n".utf8))
    exit(1)
}
