import Foundation

/// Shared checks for manifest fields.
enum ManifestValidation {
    static let placeholderSources: Set<String> = [
        "input", "path", "city", "subject", "agent", "partner", "request", "event", "secret",
    ]
    static let rateLimitScopes: Set<String> = ["partner", "city", "service", "operation", "subject", "ip"]

    /// Checks every `{source.name}` placeholder in a template.
    static func checkTemplate(_ template: String, at path: String, inputFields: Set<String>?, reader: ConfigReader) {
        for part in TemplateRenderer.parts(of: template) {
            switch part {
            case .literal:
                continue
            case .unclosed:
                reader.report(path, "has an unclosed '{'")
                return
            case .placeholder(let full):
                var reference = full
                if let bar = full.firstIndex(of: "|") {
                    reference = full[..<bar]
                    let filter = String(full[full.index(after: bar)...])
                    if CompiledTemplate.ValueFilter(filter) == nil {
                        reader.report(
                            path,
                            "placeholder {\(full)} has an unknown filter (use |date:yyyyMMdd or |codes:normal=1,frozen=2)"
                        )
                        return
                    }
                }
                let parts = reference.split(separator: ".", omittingEmptySubsequences: false)
                if parts.count < 2 || parts.contains(where: \.isEmpty) {
                    reader.report(path, "placeholder {\(reference)} must be {source.name}")
                } else if !placeholderSources.contains(String(parts[0])) {
                    reader.report(
                        path,
                        "placeholder {\(reference)} has unknown source '\(parts[0])' (use \(placeholderSources.sorted().joined(separator: ", ")))"
                    )
                } else if parts[0] == "input", let inputFields, !inputFields.contains(String(parts[1])) {
                    reader.report(
                        path, "placeholder {\(reference)} names an input field that the input schema does not declare")
                }
            }
        }
    }

    /// `Ns`, `Nm`, `Nh` or `Nd` in seconds.
    static func period(_ text: String) -> Int? {
        guard let unit = text.last, let count = Int(text.dropLast()), count > 0 else { return nil }
        switch unit {
        case "s": return count
        case "m": return count * 60
        case "h": return count * 3600
        case "d": return count * 86400
        default: return nil
        }
    }

    static func rateLimits(_ object: [String: Any], at path: String, reader: ConfigReader) -> [ServiceManifest
        .RateLimit]
    {
        guard let items = reader.array(object, "rateLimits", at: path, required: false) else { return [] }
        var limits: [ServiceManifest.RateLimit] = []
        for (index, item) in items.enumerated() {
            let itemPath = "\(path).rateLimits[\(index)]"
            guard let limit = reader.object(item, at: itemPath) else { continue }
            reader.checkFields(limit, at: itemPath, allowed: ["scope", "limit", "period", "burst"])
            let scope = reader.string(limit, "scope", at: itemPath) ?? ""
            if !scope.isEmpty && !rateLimitScopes.contains(scope) {
                reader.report("\(itemPath).scope", "must be one of \(rateLimitScopes.sorted().joined(separator: ", "))")
            }
            guard let count = reader.integer(limit, "limit", at: itemPath, range: 1...10_000_000) else {
                if limit["limit"] == nil { reader.report("\(itemPath).limit", "is required") }
                continue
            }
            let periodText = reader.string(limit, "period", at: itemPath) ?? ""
            guard let seconds = period(periodText) else {
                if !periodText.isEmpty {
                    reader.report("\(itemPath).period", "must be a count and a unit: 10s, 1m, 1h, 1d")
                }
                continue
            }
            let burst = reader.integer(limit, "burst", at: itemPath, range: 0...10_000_000) ?? 0
            limits.append(ServiceManifest.RateLimit(scope: scope, limit: count, periodSeconds: seconds, burst: burst))
        }
        return limits
    }

    /// A `{ "zh": …, "en": … }` name.
    static func bilingual(
        _ object: [String: Any], _ key: String, at path: String, reader: ConfigReader, required: Bool = true
    ) -> (String, String)? {
        guard let raw = object[key] else {
            if required { reader.report("\(path).\(key)", "is required") }
            return nil
        }
        guard let names = reader.object(raw, at: "\(path).\(key)") else { return nil }
        reader.checkFields(names, at: "\(path).\(key)", allowed: ["zh", "en"])
        let zh = reader.string(names, "zh", at: "\(path).\(key)") ?? ""
        let en = reader.string(names, "en", at: "\(path).\(key)") ?? ""
        return (zh, en)
    }

    /// A `$.a.b[0]` path into a backend's JSON.
    static func isValidSourcePath(_ text: String) -> Bool {
        // Names as XML backends write them too (`Account-No`, `姓名`); `[*]` is every element.
        text.range(of: #"^\$(\.[\p{L}_][\p{L}\p{N}_-]*|\[[0-9]+\]|\[\*\])*$"#, options: .regularExpression) != nil
    }

    static func isValidSlug(_ text: String) -> Bool {
        text.range(of: "^[a-z][a-z0-9-]*$", options: .regularExpression) != nil
    }
}
