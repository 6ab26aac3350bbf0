import Testing

@testable import CityGate

/// The rate-limit rules a route hands the limiter: which identity each scope counts, at which
/// level, and which limits a city's override replaces.
@Suite struct ServiceRouteTests {
    static func limit(_ scope: String, _ count: Int = 10) -> ServiceManifest.RateLimit {
        ServiceManifest.RateLimit(scope: scope, limit: count, periodSeconds: 1, burst: 0)
    }

    static func route(cityLimits: [String], serviceLimits: [String], override: [String] = []) throws -> ServiceRoute {
        let set = try ManifestSet.load(directory: ManifestSetTests.sample.path).get()
        var city = try #require(set.cities["330100"])
        var service = try #require(set.services["service-hall.queue"])
        city.rateLimits = cityLimits.map { limit($0) }
        service.rateLimits = serviceLimits.map { limit($0) }
        city.services["service-hall.queue"]?.rateLimits = override.map { limit($0, 99) }
        return ServiceRoute(city: city, service: service, backends: [:])
    }

    @Test
    func everyScopeCountsItsOwnIdentity() throws {
        let route = try Self.route(
            cityLimits: ["city", "partner"], serviceLimits: ["service", "operation", "ip", "subject", "partner"])
        let rules = route.rules(
            operation: "status", partnerId: "wechat-city", remoteAddress: "10.0.0.7:5100", subject: "sub-1")
        #expect(
            rules.map(\.key) == [
                "city 330100#0:city:330100",
                "city 330100#1:partner:wechat-city",
                "service 330100/service-hall.queue#0:service:330100/service-hall.queue",
                "service 330100/service-hall.queue#1:operation:330100/service-hall.queue/status",
                "service 330100/service-hall.queue#2:ip:10.0.0.7:5100",
                "service 330100/service-hall.queue#3:subject:sub-1",
                "service 330100/service-hall.queue#4:partner:wechat-city",
            ])
        #expect(rules.map(\.policy) == ["city", "partner", "service", "operation", "ip", "subject", "partner"])
    }

    @Test
    func subjectLimitsNeedACitizenAndUnknownOperationsCountNothing() throws {
        let route = try Self.route(cityLimits: [], serviceLimits: ["subject", "operation", "partner"])
        let anonymous = route.rules(operation: "status", partnerId: "p", remoteAddress: "a", subject: nil)
        #expect(anonymous.map(\.policy) == ["operation", "partner"])
        let unknown = route.rules(operation: "nope", partnerId: "p", remoteAddress: "a", subject: nil)
        #expect(unknown.map(\.policy) == ["partner"])
    }

    @Test
    func aCityOverrideReplacesTheServiceLimits() throws {
        let route = try Self.route(cityLimits: ["city"], serviceLimits: ["partner", "ip"], override: ["service"])
        let rules = route.rules(operation: "status", partnerId: "p", remoteAddress: "a", subject: nil)
        #expect(rules.map(\.policy) == ["city", "service"])
        #expect(rules.last?.limit == 99)
    }
}
