import HTTPCore
import HTTPServer
import Testing

struct RouterTests {
    static func router() -> Router {
        var router = Router()
        router.post("/v1/cities/{city}/services/{service}/{operation}") { _, _ in .text("call") }
        router.get("/v1/cities/{city}/services") { _, _ in .text("catalog") }
        router.get("/v1/cities/{city}/services/{service}") { _, _ in .text("guide") }
        router.get("/v1/cities/special/services") { _, _ in .text("literal wins") }
        router.get("/healthz") { _, _ in .text("ok") }
        return router
    }

    struct Case: CustomStringConvertible, Sendable {
        let method: String
        let path: String
        let expected: String
        var description: String { "\(method) \(path)" }
    }

    @Test(arguments: [
        Case(
            method: "POST", path: "/v1/cities/330100/services/social-security.account/balance",
            expected: "found city=330100 operation=balance service=social-security.account"),
        Case(method: "GET", path: "/v1/cities/330100/services", expected: "found city=330100"),
        Case(method: "GET", path: "/v1/cities/330100/services/", expected: "found city=330100"),
        Case(method: "HEAD", path: "/v1/cities/330100/services", expected: "found city=330100"),
        Case(method: "GET", path: "/v1/cities/special/services", expected: "found"),
        Case(method: "GET", path: "/v1/cities/a%20b/services", expected: "found city=a b"),
        Case(method: "GET", path: "/v1/cities/a%2Fb/services", expected: "found city=a/b"),
        Case(method: "GET", path: "/v1/cities/%zz/services", expected: "bad path"),
        Case(method: "GET", path: "/v1/cities/%ff/services", expected: "bad path"),
        Case(method: "GET", path: "/v1/cities", expected: "not found"),
        Case(method: "GET", path: "/v1/cities/330100/services/x/y/z", expected: "not found"),
        Case(method: "GET", path: "/nothing", expected: "not found"),
        Case(method: "DELETE", path: "/healthz", expected: "allowed GET,HEAD"),
        Case(method: "GET", path: "/v1/cities/330100/services/s/op", expected: "allowed POST"),
    ])
    func matches(_ testCase: Case) {
        let outcome: String
        switch Self.router().match(method: testCase.method, path: testCase.path) {
        case .found(_, let parameters):
            outcome = (["found"] + parameters.keys.sorted().map { "\($0)=\(parameters[$0] ?? "")" }).joined(
                separator: " ")
        case .methodNotAllowed(let allowed): outcome = "allowed " + allowed.joined(separator: ",")
        case .notFound: outcome = "not found"
        case .badPath: outcome = "bad path"
        }
        #expect(outcome == testCase.expected)
    }

    @Test
    func literalSegmentWinsOverParameter() async {
        let response = await Self.router().respond(
            to: Request(head: RequestHead(method: "GET", target: "/v1/cities/special/services")),
            context: RequestContext(requestId: "r"))
        #expect(String(decoding: response.body, as: UTF8.self) == "literal wins")
    }

    @Test
    func copiesDoNotShareRoutes() {
        let base = Self.router()
        var extended = base
        extended.get("/extra") { _, _ in .text("x") }
        if case .notFound = base.match(method: "GET", path: "/extra") {} else { Issue.record("the original changed") }
        if case .found = extended.match(method: "GET", path: "/extra") {
        } else {
            Issue.record("the copy lacks the route")
        }
    }
}
