import HTTPClient

/// What a call to one service in one city needs that the configuration alone decides: the
/// backend client, its metric label and the rate-limit rules with their keys. Worked out once
/// per configuration snapshot instead of on every call (the rule keys alone were a dozen string
/// allocations per call).
struct ServiceRoute: Sendable {
    /// One rate limit, with as much of its key fixed as the configuration fixes.
    struct Limit: Sendable {
        /// Where the rest of the key comes from.
        enum Identity: Sendable {
            /// The whole key (city and service scopes).
            case fixed(String)
            /// Operation name → the whole key.
            case perOperation([String: String])
            /// The key is `prefix` + the calling partner / client address / citizen.
            case partner, ip, subject
        }

        /// The rule, its key still to be filled in.
        let rule: RateLimiter.Rule
        /// `<level>#<index>:<scope>:`, the key before the identity.
        let prefix: String
        let identity: Identity
    }

    /// The city's client for the service's backend; nil when the city names no such backend.
    let backend: BackendClient?
    /// Rendered labels of `citygate_backend_duration_seconds` (`backend="city/backend"`) and of
    /// `citygate_request_duration_seconds` for calls on this route.
    let backendDurationLabels: String
    let requestDurationLabels: String
    /// The city's limits, then the service's (the city's override of them, if it has one).
    let limits: [Limit]

    init(city: CityConfiguration, service: ServiceManifest, backends: [String: BackendClient]) {
        let backendName = ConfigurationSnapshot.backendKey(city: city.code, backend: service.backend)
        backend = backends[backendName]
        backendDurationLabels = Metrics.labels(["backend": backendName])
        requestDurationLabels = Metrics.labels(["city": city.code, "service": service.id])
        let override = city.services[service.id]?.rateLimits ?? []
        var limits: [Limit] = []
        func add(_ declared: [ServiceManifest.RateLimit], level: String) {
            for (index, limit) in declared.enumerated() {
                let prefix = "\(level)#\(index):\(limit.scope):"
                let identity: Limit.Identity
                switch limit.scope {
                case "partner": identity = .partner
                case "ip": identity = .ip
                case "subject": identity = .subject
                case "city": identity = .fixed(prefix + city.code)
                case "service": identity = .fixed(prefix + "\(city.code)/\(service.id)")
                case "operation":
                    identity = .perOperation(
                        Dictionary(
                            uniqueKeysWithValues: service.operations.keys.map {
                                ($0, prefix + "\(city.code)/\(service.id)/\($0)")
                            }))
                default: continue  // the loader refuses unknown scopes; nothing to count here
                }
                let rule = RateLimiter.Rule(
                    key: "", policy: limit.scope, limit: limit.limit, periodSeconds: limit.periodSeconds,
                    burst: limit.burst)
                limits.append(Limit(rule: rule, prefix: prefix, identity: identity))
            }
        }
        add(city.rateLimits, level: "city \(city.code)")
        add(override.isEmpty ? service.rateLimits : override, level: "service \(city.code)/\(service.id)")
        self.limits = limits
    }

    /// The rules for one call, keys complete; a `subject` limit applies only with a citizen.
    func rules(operation: String, partnerId: String, remoteAddress: String, subject: String?) -> [RateLimiter.Rule] {
        var rules: [RateLimiter.Rule] = []
        rules.reserveCapacity(limits.count)
        for limit in limits {
            var rule = limit.rule
            switch limit.identity {
            case .fixed(let key): rule.key = key
            case .perOperation(let keys):
                guard let key = keys[operation] else { continue }
                rule.key = key
            case .partner: rule.key = limit.prefix + partnerId
            case .ip: rule.key = limit.prefix + remoteAddress
            case .subject:
                guard let subject else { continue }
                rule.key = limit.prefix + subject
            }
            rules.append(rule)
        }
        return rules
    }
}
