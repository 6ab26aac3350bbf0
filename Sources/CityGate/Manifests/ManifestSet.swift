import Cryptography
import Foundation
import HTTPServer
import RedisClient

/// The whole configuration tree, validated as one unit: `gateway.json`, `cities/`, `partners/`,
/// `services/`. Either every file is valid and every reference resolves, or the load fails with
/// every problem found — an invalid set never replaces a running one.
public struct ManifestSet: Sendable {
    public var cities: [String: CityConfiguration]
    public var services: [String: ServiceManifest]
    public var partners: [String: PartnerConfiguration]
    /// The ops admin token (from `gateway.json` `adminToken`); nil disables `/admin/*`.
    public var adminToken: String?
    /// `gateway.json` `listen`: the public listener, unless `--listen` says otherwise.
    public var listen: SocketAddress?
    /// `gateway.json` `ops`: the ops listener, unless `--ops` says otherwise.
    public var ops: SocketAddress?
    /// `gateway.json` `dataDirectory`, resolved against the manifests directory, unless `--data`
    /// says otherwise.
    public var dataDirectory: String?
    /// How tokens are issued (`gateway.json` `tokens`).
    public var tokens = TokenSettings()
    /// The event inbox and delivery (`gateway.json` `events`).
    public var events = EventSettings()
    /// SHA-256 over every file's name and bytes, in name order: identifies the active set.
    public var contentHash: String
    /// When it was loaded (Unix seconds).
    public var loadedAt: Double
    /// Encryption at rest of the personal data the gateway writes (`dataEncryption`); nil: none.
    public var dataEncryption: DataCipher? = nil
    /// The audit chain's digest (`audit.hash`: `sha256`, the default, or `sm3`).
    public var auditHash = AuditChain.HashAlgorithm.sha256
    /// Shared state across instances (`state.redis`, a resolved `redis://` or `redis+sentinel://`
    /// URL); nil: embedded.
    public var redisURL: String? = nil
    /// The shared PostgreSQL (`state.postgres`): the event inbox and token state shared by every
    /// instance; read at start.
    public var postgresURL: String? = nil
    /// When Redis is unreachable, rate limits fall back to each instance's own (`fail-open`,
    /// the default) or refuse (`fail-closed`): `state.rateLimits`.
    public var sharedLimitsFailOpen = true
    /// TLS on the public listener (`tls`); nil: cleartext.
    public var tls: TLSSettings? = nil

    /// Loads and cross-checks the tree under `directory`.
    public static func load(
        directory: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> Result<ManifestSet, ConfigProblems> {
        var problems: [ConfigProblem] = []
        var hashInput: [UInt8] = []
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            return .failure(
                ConfigProblems(problems: [ConfigProblem(file: directory, path: "$", message: "is not a directory")]))
        }
        func files(_ folder: String) -> [String] {
            let names = (try? manager.contentsOfDirectory(atPath: "\(directory)/\(folder)")) ?? []
            return names.filter { $0.hasSuffix(".json") }.sorted()
        }
        func read(_ relative: String) -> (ConfigReader, [String: Any]?) {
            let reader = ConfigReader(file: relative)
            guard let data = manager.contents(atPath: "\(directory)/\(relative)") else {
                reader.report("$", "cannot be read")
                return (reader, nil)
            }
            hashInput += Array(relative.utf8) + [0] + Array(data) + [0]
            return (reader, reader.document(data))
        }

        // Ids whose file exists, loaded or not: a reference to a file that failed to load is not
        // reported again as missing (its own problems already say what is wrong).
        let presentPartners = Set(files("partners").map { String($0.dropLast(5)) })
        let presentServices = Set(files("services").map { String($0.dropLast(5)) })
        let presentCities = Set(files("cities").map { String($0.dropLast(5)) })
        var adminToken: String?
        var listen: SocketAddress?
        var ops: SocketAddress?
        var dataDirectory: String?
        var tokens = TokenSettings()
        var events = EventSettings()
        var dataEncryption: DataCipher?
        var tls: TLSSettings?
        var auditHash = AuditChain.HashAlgorithm.sha256
        var redisURL: String?
        var postgresURL: String?
        var sharedLimitsFailOpen = true
        if manager.fileExists(atPath: "\(directory)/gateway.json") {
            let (reader, document) = read("gateway.json")
            if let document {
                reader.checkFields(
                    document, at: "$",
                    allowed: [
                        "listen", "ops", "dataDirectory", "adminToken", "tokens", "events", "dataEncryption", "tls",
                        "audit", "state",
                    ])
                func address(_ key: String) -> SocketAddress? {
                    guard let text = reader.string(document, key, at: "$", required: false) else { return nil }
                    guard let parsed = try? SocketAddress(parsing: text) else {
                        reader.report("$.\(key)", "must be HOST:PORT with a numeric host (127.0.0.1:8080, [::1]:8080)")
                        return nil
                    }
                    return parsed
                }
                listen = address("listen")
                ops = address("ops")
                if let text = reader.string(document, "dataDirectory", at: "$", required: false) {
                    if text.isEmpty {
                        reader.report("$.dataDirectory", "must name a directory")
                    } else {
                        // Relative to the manifests directory, like every file: reference here.
                        dataDirectory = text.hasPrefix("/") ? text : "\(directory)/\(text)"
                    }
                }
                if let text = reader.string(document, "adminToken", at: "$", required: false) {
                    if let reference = SecretReference(text, relativeTo: directory) {
                        switch reference.resolve(environment: environment) {
                        case .success(let token) where token.utf8.count >= 16: adminToken = token
                        case .success: reader.report("$.adminToken", "must resolve to at least 16 characters")
                        case .failure(let unresolved): reader.report("$.adminToken", unresolved.message)
                        }
                    } else {
                        reader.report("$.adminToken", "must be an env: or file: reference, not an inline secret")
                    }
                }
                if let value = document["events"], let object = reader.object(value, at: "$.events") {
                    events = EventSettings.load(object, reader: reader)
                }
                if let value = document["dataEncryption"], let object = reader.object(value, at: "$.dataEncryption") {
                    dataEncryption = DataCipher.load(object, reader: reader) { entry, field, path in
                        reader.secret(entry, field, at: path, directory: directory, environment: environment)
                    }
                }
                if let value = document["state"], let object = reader.object(value, at: "$.state") {
                    reader.checkFields(object, at: "$.state", allowed: ["redis", "postgres", "rateLimits"])
                    if let policy = reader.string(object, "rateLimits", at: "$.state", required: false) {
                        if policy == "fail-open" || policy == "fail-closed" {
                            sharedLimitsFailOpen = policy == "fail-open"
                        } else {
                            reader.report("$.state.rateLimits", "must be fail-open or fail-closed")
                        }
                    }
                    if let url = reader.secret(
                        object, "postgres", at: "$.state", directory: directory, environment: environment)
                    {
                        if url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") {
                            postgresURL = url
                        } else {
                            reader.report(
                                "$.state.postgres", "must resolve to a postgresql://USER@HOST:PORT/DATABASE URL")
                        }
                    }
                    if let url = reader.secret(
                        object, "redis", at: "$.state", directory: directory, environment: environment)
                    {
                        switch RedisEndpoint.parse(url) {
                        case .success: redisURL = url
                        case .failure(let problem): reader.report("$.state.redis", problem.description)
                        }
                    }
                }
                if let value = document["audit"], let object = reader.object(value, at: "$.audit") {
                    reader.checkFields(object, at: "$.audit", allowed: ["hash"])
                    if let text = reader.string(object, "hash", at: "$.audit", required: false) {
                        if let algorithm = AuditChain.HashAlgorithm(rawValue: text) {
                            auditHash = algorithm
                        } else {
                            reader.report("$.audit.hash", "must be sha256 or sm3")
                        }
                    }
                }
                if let value = document["tls"], let object = reader.object(value, at: "$.tls") {
                    tls = TLSSettings.load(object, reader: reader) { field in
                        reader.secret(object, field, at: "$.tls", directory: directory, environment: environment)
                    }
                }
                if let value = document["tokens"], let object = reader.object(value, at: "$.tokens") {
                    tokens = TokenSettings.load(object, reader: reader) { object, field, path in
                        reader.secret(object, field, at: path, directory: directory, environment: environment)
                    }
                }
                // Instances that share state share their tokens: each must sign with the same
                // keys, hash subjects with the same salt and name the same issuer, or a token
                // from one is refused by the next (each would make its own in its data directory).
                if document["state"] != nil && reader.problems.isEmpty {
                    let shared = "must be set when instances share state ($.state): otherwise each instance"
                    if tokens.signingKeys.isEmpty {
                        reader.report("$.tokens.signingKeys", "\(shared) signs with a key of its own")
                    }
                    if tokens.subjectSalt == nil {
                        reader.report("$.tokens.subjectSalt", "\(shared) hashes subjects with a salt of its own")
                    }
                    if tokens.issuer == nil {
                        reader.report("$.tokens.issuer", "\(shared) names its own address as the issuer")
                    }
                }
            }
            problems += reader.problems
        }
        var partners: [String: PartnerConfiguration] = [:]
        for name in files("partners") {
            let relative = "partners/\(name)"
            // Read once: the same bytes feed the content hash and the loader.
            guard let data = manager.contents(atPath: "\(directory)/\(relative)") else {
                problems.append(ConfigProblem(file: relative, path: "$", message: "cannot be read"))
                continue
            }
            hashInput += Array(relative.utf8) + [0] + Array(data) + [0]
            switch PartnerConfiguration.load(
                data: data, path: "\(directory)/\(relative)", displayName: relative, environment: environment)
            {
            case .success(let partner): partners[partner.id] = partner
            case .failure(let found): problems += found.problems
            }
        }
        var services: [String: ServiceManifest] = [:]
        for name in files("services") {
            let relative = "services/\(name)"
            let (reader, document) = read(relative)
            if let document {
                let service = ServiceManifest.load(document, expectedId: String(name.dropLast(5)), reader: reader)
                services[service.id] = service
            }
            problems += reader.problems
        }
        var cities: [String: CityConfiguration] = [:]
        var failedCities: Set<String> = []
        for name in files("cities") {
            let relative = "cities/\(name)"
            let (reader, document) = read(relative)
            if let document {
                let fileCode = String(name.dropLast(5))
                var city = CityConfiguration.load(
                    document, expectedCode: fileCode, directory: "\(directory)/cities", reader: reader)
                city.code = fileCode
                cities[fileCode] = city
                if !reader.problems.isEmpty { failedCities.insert(fileCode) }
            }
            problems += reader.problems
        }
        if cities.isEmpty {
            problems.append(ConfigProblem(file: "cities/", path: "$", message: "no city is configured"))
        }

        // References across files.
        for code in cities.keys.sorted() {
            guard let city = cities[code] else { continue }
            let file = "cities/\(code).json"
            for serviceId in city.services.keys.sorted() {
                guard let service = services[serviceId] else {
                    if !presentServices.contains(serviceId) {
                        problems.append(
                            ConfigProblem(
                                file: file, path: "$.services.\(serviceId)",
                                message: "no service manifest services/\(serviceId).json"))
                    }
                    continue
                }
                if city.backends[service.backend] == nil {
                    problems.append(
                        ConfigProblem(
                            file: file, path: "$.services.\(serviceId)",
                            message: "the service calls backend '\(service.backend)', which this city does not define"))
                }
                let named = Set(service.operations.values.flatMap { $0.request.secretNames })
                for name in named.sorted() where city.credentials[name] == nil {
                    problems.append(
                        ConfigProblem(
                            file: file, path: "$.services.\(serviceId)",
                            message:
                                "the service's requests use {secret.\(name)}, which this city's credentials do not declare"
                        ))
                }
            }
            for (index, partnerId) in city.partners.enumerated() {
                guard let partner = partners[partnerId] else {
                    if !presentPartners.contains(partnerId) {
                        problems.append(
                            ConfigProblem(
                                file: file, path: "$.partners[\(index)]",
                                message: "no partner file partners/\(partnerId).json"))
                    }
                    continue
                }
                if !partner.cities.contains(code) && !failedCities.contains(code) {
                    problems.append(
                        ConfigProblem(
                            file: file, path: "$.partners[\(index)]",
                            message: "partner '\(partnerId)' does not list this city in its cities"))
                }
            }
        }
        for id in partners.keys.sorted() {
            for (index, code) in (partners[id]?.cities ?? []).enumerated()
            where cities[code] == nil && !presentCities.contains(code) {
                problems.append(
                    ConfigProblem(
                        file: "partners/\(id).json", path: "$.cities[\(index)]",
                        message: "no city file cities/\(code).json"))
            }
        }
        problems += checkClients(partners: partners, services: services)
        problems += checkClientCertificates(partners: partners, cities: cities, tls: tls)
        if var settings = tls {
            // Asked for only where someone may be known by one (a browser would otherwise be
            // prompted for nothing).
            settings.material.requestClientCertificates =
                settings.material.clientCAsPEM != nil || partners.values.contains { !$0.clientCertificates.isEmpty }
                || cities.values.contains { $0.backends.values.contains { !$0.clientCertificates.isEmpty } }
            tls = settings
        }
        if !problems.isEmpty { return .failure(ConfigProblems(problems: problems)) }
        let hash = (try? Digest.sha256.hash(hashInput)).map(Encoding.hex) ?? ""
        var set = ManifestSet(
            cities: cities, services: services, partners: partners, adminToken: adminToken, listen: listen,
            ops: ops, dataDirectory: dataDirectory, tokens: tokens, events: events,
            contentHash: hash,
            loadedAt: Date().timeIntervalSince1970)
        set.dataEncryption = dataEncryption
        set.tls = tls
        set.auditHash = auditHash
        set.redisURL = redisURL
        set.postgresURL = postgresURL
        set.sharedLimitsFailOpen = sharedLimitsFailOpen
        return .success(set)
    }

    /// Pinned client certificates can only arrive over TLS, and issuer-and-subject pins need the
    /// CAs that make a chain verify; one certificate cannot be two parties'.
    static func checkClientCertificates(
        partners: [String: PartnerConfiguration], cities: [String: CityConfiguration], tls: TLSSettings?
    ) -> [ConfigProblem] {
        var problems: [ConfigProblem] = []
        var owners: [ClientCertificatePin: String] = [:]
        func check(_ pins: [ClientCertificatePin], owner: String, file: String, path: String) {
            guard !pins.isEmpty else { return }
            if tls == nil {
                problems.append(
                    ConfigProblem(
                        file: file, path: path,
                        message: "client certificates arrive only over TLS: gateway.json has no tls section"))
            } else if tls?.material.clientCAsPEM == nil, pins.contains(where: \.needsClientCA) {
                problems.append(
                    ConfigProblem(
                        file: file, path: path,
                        message: "an issuer-and-subject pin needs gateway.json tls.clientCA to verify the chain"))
            }
            for (index, pin) in pins.enumerated() {
                if let other = owners[pin], other != owner {
                    problems.append(
                        ConfigProblem(
                            file: file, path: "\(path)[\(index)]", message: "the same certificate is pinned by \(other)"
                        ))
                }
                owners[pin] = owner
            }
        }
        for id in partners.keys.sorted() {
            check(
                partners[id]?.clientCertificates ?? [], owner: "partner \(id)", file: "partners/\(id).json",
                path: "$.clientCertificates")
        }
        for code in cities.keys.sorted() {
            guard let city = cities[code] else { continue }
            for name in city.backends.keys.sorted() {
                check(
                    city.backends[name]?.clientCertificates ?? [], owner: "backend \(code)/\(name)",
                    file: "cities/\(code).json", path: "$.backends.\(name).clientCertificates")
            }
        }
        return problems
    }

    /// OAuth client ids are unique across partners, and every scope a client may be granted is
    /// one some operation requires (a typo would otherwise grant nothing, silently).
    static func checkClients(partners: [String: PartnerConfiguration], services: [String: ServiceManifest])
        -> [ConfigProblem]
    {
        var problems: [ConfigProblem] = []
        // The operations' scopes, and the gateway's own routes' (the case view and rating).
        let knownScopes = Set(services.values.flatMap { $0.operations.values.map(\.scope) }).union([
            CaseRoutes.viewScope, CaseRoutes.rateScope,
        ])
        var owners: [String: String] = [:]
        for id in partners.keys.sorted() {
            for (index, client) in (partners[id]?.clients ?? []).enumerated() {
                let file = "partners/\(id).json"
                if let owner = owners[client.id] {
                    problems.append(
                        ConfigProblem(
                            file: file, path: "$.clients[\(index)].id",
                            message: "client id '\(client.id)' is already used by partner '\(owner)'"))
                }
                owners[client.id] = id
                for scope in client.scopes.sorted() where !knownScopes.contains(scope) {
                    problems.append(
                        ConfigProblem(
                            file: file, path: "$.clients[\(index)].scopes",
                            message: "no operation requires scope '\(scope)'"))
                }
            }
        }
        return problems
    }

    /// The client with `id`, in whichever partner declares it.
    public func client(_ id: String) -> OAuthClient? {
        for partner in partners.values {
            if let client = partner.clients.first(where: { $0.id == id }) { return client }
        }
        return nil
    }

    /// The public routes this set produces, one line each, sorted.
    public func routeLines() -> [String] {
        var lines: [String] = []
        for code in cities.keys.sorted() {
            guard let city = cities[code] else { continue }
            lines.append("GET  /v1/cities/\(code)/services")
            for serviceId in city.services.keys.sorted() {
                guard let service = services[serviceId], let entry = city.services[serviceId] else { continue }
                let state = entry.enabled && service.enabled ? "" : "  (disabled: 503 with notice)"
                lines.append("GET  /v1/cities/\(code)/services/\(serviceId)\(state)")
                for name in service.operations.keys.sorted() {
                    guard let operation = service.operations[name] else { continue }
                    guard !operation.eventOnly else {
                        lines.append(
                            "EVENT \(code) \(serviceId)/\(name)  (partner events only, no call route) backend=\(service.backend)"
                        )
                        continue
                    }
                    lines.append(
                        "POST /v1/cities/\(code)/services/\(serviceId)/\(name)  scope=\(operation.scope) auth=\(service.authLevel.rawValue) backend=\(service.backend) idempotent=\(operation.idempotent)\(state)"
                    )
                }
            }
        }
        for id in partners.keys.sorted() { lines.append("POST /v1/partners/\(id)/events") }
        return lines
    }
}

extension ManifestSet {
    /// A city backend that reports case progress, as the signer it is: the `hmac-sha256` scheme
    /// with its `progressKeys`, under the id `backend:city/name` (nil: it has no keys).
    public func progressReporter(city code: String, backend name: String) -> PartnerConfiguration? {
        guard let keys = cities[code]?.backends[name]?.progressKeys, !keys.isEmpty else { return nil }
        let key = ConfigurationSnapshot.backendKey(city: code, backend: name)
        return PartnerConfiguration(
            id: "backend:\(key)", name: key, scheme: GenericHMACScheme(secrets: keys), cities: [code])
    }
}
