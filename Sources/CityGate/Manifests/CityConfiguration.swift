import Foundation

/// One city (`cities/<code>.json`): its backends, the services it enables (with overrides), the
/// partners allowed to call it, rate limits and its working-day calendar.
public struct CityConfiguration: Sendable {
    /// A named backend in this city.
    public struct BackendEntry: Sendable {
        public var name: String
        public var baseURL: String
        public var timeoutMilliseconds: Int
        public var maxConnections: Int
        public var healthPath: String?
        public var caFile: String?
        public var clientCertificateFile: String?
        public var clientKeyFile: String?
        /// The raw `delivery` override, applied over the gateway's schedule at load.
        public var deliveryOverride: DeliveryOverride?
        /// The keys the backend signs case progress reports with (`progressKeys`, the
        /// `hmac-sha256` scheme's format); empty: the backend reports no progress.
        public var progressKeys: [PartnerSecret] = []
        /// The client certificates the backend reports case progress with over TLS
        /// (`clientCertificates`); when any is listed, its reports must present one.
        public var clientCertificates: [ClientCertificatePin] = []
    }

    /// A backend's `delivery` object, kept as read so the gateway-wide defaults apply under it.
    public struct DeliveryOverride: Sendable {
        /// Attempts in all.
        public var maxAttempts: Int?
        /// The first backoff ceiling.
        public var initialDelayMilliseconds: Int?
        /// The largest wait.
        public var maxDelayMilliseconds: Int?

        /// The override applied over `base`.
        public func applied(to base: DeliverySchedule) -> DeliverySchedule {
            var schedule = base
            if let maxAttempts { schedule.maxAttempts = maxAttempts }
            if let initialDelayMilliseconds { schedule.initialDelayMilliseconds = initialDelayMilliseconds }
            if let maxDelayMilliseconds { schedule.maxDelayMilliseconds = maxDelayMilliseconds }
            return schedule
        }
    }

    /// A service as this city runs it.
    public struct ServiceEntry: Sendable {
        public var enabled: Bool
        public var timeoutMilliseconds: Int?
        public var rateLimits: [ServiceManifest.RateLimit]
        public var disabledNoticeZh: String?
        public var disabledNoticeEn: String?
    }

    public var code: String
    public var nameZh: String
    public var nameEn: String
    public var backends: [String: BackendEntry]
    public var services: [String: ServiceEntry]
    public var partners: [String]
    public var rateLimits: [ServiceManifest.RateLimit]
    /// Working days, holidays, make-up workdays and the office day's end (`calendar`).
    public var calendar: WorkingCalendar
    /// Credentials for the city's backends, by name (`credentials`; ``BackendCredential``).
    public var credentials: [String: BackendCredential] = [:]

    static let fields: Set<String> = [
        "code", "name", "backends", "services", "partners", "rateLimits", "calendar", "credentials",
    ]

    /// A backend's `progressKeys`: `[{"id", "secret"}]`, secrets by `env:`/`file:` reference.
    static func progressKeys(_ object: [String: Any], at path: String, directory: String, reader: ConfigReader)
        -> [PartnerSecret]
    {
        guard object["progressKeys"] != nil else { return [] }
        let items = reader.array(object, "progressKeys", at: path) ?? []
        if items.isEmpty { reader.report("\(path).progressKeys", "must list at least one key") }
        var keys: [PartnerSecret] = []
        var seen: Set<String> = []
        for (index, item) in items.enumerated() {
            let keyPath = "\(path).progressKeys[\(index)]"
            guard let key = reader.object(item, at: keyPath) else { continue }
            reader.checkFields(key, at: keyPath, allowed: ["id", "secret"])
            let id = reader.string(key, "id", at: keyPath) ?? ""
            if !seen.insert(id).inserted { reader.report("\(keyPath).id", "duplicate key id '\(id)'") }
            guard
                let secret = reader.secret(
                    key, "secret", at: keyPath, directory: directory, environment: ProcessInfo.processInfo.environment)
            else {
                if key["secret"] == nil { reader.report(keyPath, "needs secret") }
                continue
            }
            if secret.utf8.count < 16 { reader.report("\(keyPath).secret", "must resolve to at least 16 bytes") }
            keys.append(PartnerSecret(id: id, bytes: Array(secret.utf8)))
        }
        return keys
    }

    static func load(_ root: [String: Any], expectedCode: String, directory: String, reader: ConfigReader)
        -> CityConfiguration
    {
        reader.checkFields(root, at: "$", allowed: fields)
        let code = reader.string(root, "code", at: "$") ?? expectedCode
        if code.count != 6 || !code.allSatisfy(\.isNumber) {
            reader.report("$.code", "must be a 6-digit administrative code")
        } else if code != expectedCode {
            reader.report("$.code", "must match the file name ('\(expectedCode)')")
        }
        let name = ManifestValidation.bilingual(root, "name", at: "$", reader: reader) ?? ("", "")
        var backends: [String: BackendEntry] = [:]
        if let raw = root["backends"], let map = reader.object(raw, at: "$.backends") {
            for backendName in map.keys.sorted() {
                let path = "$.backends.\(backendName)"
                guard let value = map[backendName], let object = reader.object(value, at: path) else { continue }
                reader.checkFields(
                    object, at: path,
                    allowed: [
                        "baseURL", "timeoutMs", "maxConnections", "healthPath", "tls", "delivery", "progressKeys",
                        "clientCertificates",
                    ])
                let baseURL = reader.string(object, "baseURL", at: path) ?? ""
                if let url = URL(string: baseURL), let scheme = url.scheme, ["http", "https"].contains(scheme),
                    url.host != nil
                {
                    // fine
                } else if !baseURL.isEmpty {
                    reader.report("\(path).baseURL", "must be an http:// or https:// URL with a host")
                }
                var entry = BackendEntry(
                    name: backendName, baseURL: baseURL,
                    timeoutMilliseconds: reader.integer(object, "timeoutMs", at: path, range: 1...60_000) ?? 3000,
                    maxConnections: reader.integer(object, "maxConnections", at: path, range: 1...1024) ?? 32,
                    healthPath: reader.string(object, "healthPath", at: path, required: false))
                if let raw = object["delivery"], let delivery = reader.object(raw, at: "\(path).delivery") {
                    let deliveryPath = "\(path).delivery"
                    reader.checkFields(delivery, at: deliveryPath, allowed: DeliverySchedule.fields)
                    entry.deliveryOverride = DeliveryOverride(
                        maxAttempts: reader.integer(delivery, "maxAttempts", at: deliveryPath, range: 1...100),
                        initialDelayMilliseconds: reader.integer(
                            delivery, "initialDelayMs", at: deliveryPath, range: 10...3_600_000),
                        maxDelayMilliseconds: reader.integer(
                            delivery, "maxDelayMs", at: deliveryPath, range: 10...86_400_000))
                }
                if let raw = object["tls"], let tls = reader.object(raw, at: "\(path).tls") {
                    reader.checkFields(tls, at: "\(path).tls", allowed: ["caFile", "clientCertificate", "clientKey"])
                    func file(_ key: String) -> String? {
                        guard let text = reader.string(tls, key, at: "\(path).tls", required: false) else { return nil }
                        guard let reference = SecretReference(text, relativeTo: directory),
                            case .file(let resolved) = reference
                        else {
                            reader.report("\(path).tls.\(key)", "must be a file: reference")
                            return nil
                        }
                        if !FileManager.default.fileExists(atPath: resolved) {
                            reader.report("\(path).tls.\(key)", "cannot read \(resolved)")
                        }
                        return resolved
                    }
                    entry.caFile = file("caFile")
                    entry.clientCertificateFile = file("clientCertificate")
                    entry.clientKeyFile = file("clientKey")
                    if (entry.clientCertificateFile == nil) != (entry.clientKeyFile == nil) {
                        reader.report("\(path).tls", "clientCertificate and clientKey go together")
                    }
                }
                entry.progressKeys = progressKeys(object, at: path, directory: directory, reader: reader)
                entry.clientCertificates = ClientCertificatePin.load(object, at: path, reader: reader) ?? []
                backends[backendName] = entry
            }
        }
        var services: [String: ServiceEntry] = [:]
        if let raw = root["services"], let map = reader.object(raw, at: "$.services") {
            for serviceId in map.keys.sorted() {
                let path = "$.services.\(serviceId)"
                guard let value = map[serviceId], let object = reader.object(value, at: path) else { continue }
                reader.checkFields(object, at: path, allowed: ["enabled", "timeoutMs", "rateLimits", "disabledNotice"])
                let notice = ManifestValidation.bilingual(
                    object, "disabledNotice", at: path, reader: reader, required: false)
                services[serviceId] = ServiceEntry(
                    enabled: reader.boolean(object, "enabled", at: path) ?? true,
                    timeoutMilliseconds: reader.integer(object, "timeoutMs", at: path, range: 1...60_000),
                    rateLimits: ManifestValidation.rateLimits(object, at: path, reader: reader),
                    disabledNoticeZh: notice?.0,
                    disabledNoticeEn: notice?.1)
            }
        }
        let partners = (reader.array(root, "partners", at: "$") ?? []).enumerated().compactMap {
            index, value -> String? in
            guard let id = value as? String else {
                reader.report("$.partners[\(index)]", "must be a partner id")
                return nil
            }
            return id
        }
        var calendar = WorkingCalendar()
        if let raw = root["calendar"], let object = reader.object(raw, at: "$.calendar") {
            reader.checkFields(object, at: "$.calendar", allowed: ["holidays", "workdays", "cutoff"])
            func dates(_ key: String) -> [CivilDate] {
                (reader.array(object, key, at: "$.calendar", required: false) ?? []).enumerated().compactMap {
                    index, value in
                    let text = value as? String ?? ""
                    if let date = CivilDate(text) { return date }
                    let shaped = text.range(of: #"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"#, options: .regularExpression) != nil
                    reader.report(
                        "$.calendar.\(key)[\(index)]",
                        shaped ? "\(text) is not a calendar date" : "must be a date written YYYY-MM-DD")
                    return nil
                }
            }
            calendar.holidays = Set(dates("holidays"))
            calendar.workdays = Set(dates("workdays"))
            for date in calendar.holidays.intersection(calendar.workdays).sorted() {
                reader.report("$.calendar", "\(date) is both a holiday and a make-up workday")
            }
            if let text = reader.string(object, "cutoff", at: "$.calendar", required: false) {
                if let minutes = WorkingCalendar.minutes(text) {
                    calendar.cutoffMinutes = minutes
                } else {
                    reader.report("$.calendar.cutoff", "must be a time of day written HH:MM (00:00 to 23:59)")
                }
            }
        }
        var city = CityConfiguration(
            code: code, nameZh: name.0, nameEn: name.1, backends: backends, services: services, partners: partners,
            rateLimits: ManifestValidation.rateLimits(root, at: "$", reader: reader), calendar: calendar)
        city.credentials = BackendCredential.load(root, directory: directory, reader: reader)
        return city
    }
}
