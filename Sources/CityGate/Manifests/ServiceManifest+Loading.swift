import Foundation

extension ServiceManifest {
    static let fields: Set<String> = [
        "id", "version", "name", "department", "itemCode", "category", "authLevel", "timeLimits", "backend", "identity",
        "operations",
        "events", "rateLimits", "enabled", "disabledNotice", "description",
    ]
    static let operationFields: Set<String> = [
        "scope", "idempotent", "timeoutMs", "retries", "input", "request", "response", "description", "eventOnly",
        "bind", "bindingExempt", "opensCase",
    ]

    /// Loads one service manifest; problems go to `reader`.
    static func load(_ root: [String: Any], expectedId: String, reader: ConfigReader) -> ServiceManifest {
        reader.checkFields(root, at: "$", allowed: fields)
        let id = reader.string(root, "id", at: "$") ?? expectedId
        if id != expectedId { reader.report("$.id", "must match the file name ('\(expectedId)')") }
        let version = reader.string(root, "version", at: "$") ?? ""
        if !version.isEmpty && version.range(of: #"^\d+\.\d+\.\d+$"#, options: .regularExpression) == nil {
            reader.report("$.version", "must be MAJOR.MINOR.PATCH")
        }
        let name = ManifestValidation.bilingual(root, "name", at: "$", reader: reader) ?? ("", "")
        var departmentCode = ""
        var departmentName = ""
        if let raw = root["department"], let department = reader.object(raw, at: "$.department") {
            reader.checkFields(department, at: "$.department", allowed: ["code", "name"])
            departmentCode = reader.string(department, "code", at: "$.department") ?? ""
            departmentName = reader.string(department, "name", at: "$.department") ?? ""
            if !departmentCode.isEmpty && departmentCode.range(of: "^[0-9A-Z]{18}$", options: .regularExpression) == nil
            {
                reader.report("$.department.code", "must be an 18-character unified social credit code")
            }
        } else if root["department"] == nil {
            reader.report("$.department", "is required")
        }
        let itemCode = reader.string(root, "itemCode", at: "$") ?? ""
        let category = reader.string(root, "category", at: "$") ?? ""
        let authText = reader.string(root, "authLevel", at: "$") ?? ""
        let authLevel = AuthLevel(rawValue: authText)
        if authLevel == nil && !authText.isEmpty {
            reader.report("$.authLevel", "must be one of \(AuthLevel.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var legal = 0
        var promised = 0
        if let raw = root["timeLimits"], let limits = reader.object(raw, at: "$.timeLimits") {
            reader.checkFields(limits, at: "$.timeLimits", allowed: ["legalDays", "promisedDays"])
            legal = reader.integer(limits, "legalDays", at: "$.timeLimits", range: 0...3650) ?? 0
            promised = reader.integer(limits, "promisedDays", at: "$.timeLimits", range: 0...3650) ?? 0
            if legal > 0 && promised > legal {
                reader.report(
                    "$.timeLimits.promisedDays", "(\(promised)) is above the legal limit (\(legal) working days)")
            }
        } else if root["timeLimits"] == nil {
            reader.report("$.timeLimits", "is required")
        }
        let backend = reader.string(root, "backend", at: "$") ?? ""
        var operations: [String: Operation] = [:]
        if let raw = root["operations"], let map = reader.object(raw, at: "$.operations") {
            if map.isEmpty { reader.report("$.operations", "must declare at least one operation") }
            for name in map.keys.sorted() {
                let path = "$.operations.\(name)"
                if name.range(of: "^[a-z][a-zA-Z0-9-]*$", options: .regularExpression) == nil {
                    reader.report(path, "operation names are lower-camel or kebab case")
                }
                if let value = map[name], let operation = loadOperation(name: name, value, at: path, reader: reader) {
                    operations[name] = operation
                }
            }
        } else if root["operations"] == nil {
            reader.report("$.operations", "is required")
        }
        var events: [String: String] = [:]
        var eventOrdering: [String: String] = [:]
        if let raw = root["events"], let map = reader.object(raw, at: "$.events") {
            for (event, value) in map.sorted(by: { $0.key < $1.key }) {
                let path = "$.events.\(event)"
                var operationName: String?
                if let text = value as? String {
                    operationName = text
                } else if let object = value as? [String: Any] {
                    // { "operation": "…", "orderedBy": "$.data.openid" }: one at a time per value.
                    reader.checkFields(object, at: path, allowed: ["operation", "orderedBy"])
                    operationName = reader.string(object, "operation", at: path)
                    if let ordering = reader.string(object, "orderedBy", at: path, required: false) {
                        if ordering.range(of: #"^\$(\.[A-Za-z_][A-Za-z0-9_-]*)+$"#, options: .regularExpression) == nil
                        {
                            reader.report("\(path).orderedBy", "must be a field path like $.data.openid")
                        } else {
                            eventOrdering[event] = ordering
                        }
                    }
                } else {
                    reader.report(path, "must name an operation, or be { operation, orderedBy }")
                }
                guard let operation = operationName else { continue }
                let parts = event.split(separator: ":")
                if parts.count != 2 {
                    reader.report(path, "event keys are '<partner or scheme>:<event type>'")
                }
                if operations[operation] == nil && map.count > 0 && root["operations"] != nil {
                    reader.report(path, "names operation '\(operation)', which this service does not declare")
                }
                events[event] = operation
            }
        }
        let rateLimits = ManifestValidation.rateLimits(root, at: "$", reader: reader)
        let enabled = reader.boolean(root, "enabled", at: "$") ?? true
        let notice = ManifestValidation.bilingual(root, "disabledNotice", at: "$", reader: reader, required: false)
        if !enabled && notice == nil {
            reader.report("$.disabledNotice", "is required while the service is disabled (callers are shown it)")
        }
        // "identity": "raw" — the backend keys on the citizen's own id, so {subject.raw} may be used
        // and the gateway keeps that id (encrypted) for tokens of this partner. Everything else
        // sees only the pseudonym, and a template asking for more is a load error.
        let identityText = reader.string(root, "identity", at: "$", required: false) ?? "pseudonym"
        if identityText != "pseudonym" && identityText != "raw" {
            reader.report("$.identity", "must be pseudonym or raw")
        }
        let rawIdentity = identityText == "raw"
        if rawIdentity && (authLevel ?? .realName) < .citizen {
            reader.report("$.identity", "raw identity needs a citizen or real-name service")
        }
        for name in operations.keys.sorted() {
            guard let operation = operations[name] else { continue }
            checkBindings(
                operation, authLevel: authLevel ?? .realName, rawIdentity: rawIdentity, at: "$.operations.\(name)",
                reader: reader)
        }
        if !rawIdentity, let map = root["operations"] as? [String: Any] {
            for name in map.keys.sorted() {
                guard let value = map[name], let data = try? JSONSerialization.data(withJSONObject: value),
                    String(decoding: data, as: UTF8.self).contains("{subject.raw}")
                else { continue }
                reader.report(
                    "$.operations.\(name)", "uses {subject.raw}, which needs \"identity\": \"raw\" on the service")
            }
        }
        return ServiceManifest(
            id: id, version: version, nameZh: name.0, nameEn: name.1, departmentCode: departmentCode,
            departmentName: departmentName,
            itemCode: itemCode, category: category, authLevel: authLevel ?? .realName, legalDays: legal,
            promisedDays: promised,
            backend: backend, operations: operations, events: events, eventOrdering: eventOrdering,
            rateLimits: rateLimits, enabled: enabled,
            disabledNoticeZh: notice?.0, disabledNoticeEn: notice?.1, rawIdentity: rawIdentity)
    }

    static func loadOperation(name: String, _ value: Any, at path: String, reader: ConfigReader) -> Operation? {
        guard let object = reader.object(value, at: path) else { return nil }
        reader.checkFields(object, at: path, allowed: operationFields)
        let scope = reader.string(object, "scope", at: path) ?? ""
        let idempotent = reader.boolean(object, "idempotent", at: path) ?? false
        let timeout = reader.integer(object, "timeoutMs", at: path, range: 1...60_000) ?? 3000
        let retries = reader.integer(object, "retries", at: path, range: 0...5) ?? 0
        if retries > 0 && !idempotent {
            reader.report(
                "\(path).retries", "only idempotent operations may be retried (set idempotent: true or retries: 0)")
        }
        let input = object["input"].flatMap { InputSchema.compile($0, at: "\(path).input", reader: reader) }
        let inputFields = input.map { Set($0.propertyOrder) }
        var request = BackendRequestTemplate(
            method: "GET", path: "/", query: [], headers: [], bodyFormat: nil, body: [], xmlRoot: nil)
        if let raw = object["request"], let template = reader.object(raw, at: "\(path).request") {
            let requestPath = "\(path).request"
            reader.checkFields(
                template, at: requestPath,
                allowed: [
                    "method", "path", "query", "headers", "body", "format", "xmlRoot", "soap", "namespaces", "charset",
                    "files",
                ])
            request.method = reader.string(template, "method", at: requestPath) ?? "GET"
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(request.method) {
                reader.report("\(requestPath).method", "must be GET, POST, PUT, PATCH or DELETE")
            }
            request.path = reader.string(template, "path", at: requestPath) ?? "/"
            if !request.path.hasPrefix("/") { reader.report("\(requestPath).path", "must start with /") }
            ManifestValidation.checkTemplate(
                request.path, at: "\(requestPath).path", inputFields: inputFields, reader: reader)
            func pairs(_ key: String) -> [(String, String)] {
                guard let raw = template[key] else { return [] }
                guard let map = reader.object(raw, at: "\(requestPath).\(key)") else { return [] }
                var result: [(String, String)] = []
                for name in map.keys.sorted() {
                    guard let text = map[name] as? String else {
                        reader.report("\(requestPath).\(key).\(name)", "must be a template string")
                        continue
                    }
                    ManifestValidation.checkTemplate(
                        text, at: "\(requestPath).\(key).\(name)", inputFields: inputFields, reader: reader)
                    result.append((name, text))
                }
                return result
            }
            request.query = pairs("query")
            request.headers = pairs("headers")
            if let elements = template["body"] as? [Any] {
                request.body = Self.orderedBody(
                    elements, at: "\(requestPath).body", inputFields: inputFields, reader: reader)
            } else {
                request.body = pairs("body")
            }
            Self.checkCredentials(request, at: requestPath, reader: reader)
            if let format = reader.string(template, "format", at: requestPath, required: false) {
                request.bodyFormat = BackendRequestTemplate.BodyFormat(rawValue: format)
                if request.bodyFormat == nil {
                    reader.report("\(requestPath).format", "must be json, form, xml or multipart")
                }
            } else if !request.body.isEmpty {
                request.bodyFormat = .json
            }
            request.xmlRoot = reader.string(template, "xmlRoot", at: requestPath, required: false)
            if request.bodyFormat == .xml && request.xmlRoot == nil {
                reader.report("\(requestPath).xmlRoot", "is required for xml bodies")
            }
            if let text = reader.string(template, "charset", at: requestPath, required: false) {
                if let charset = LegacyCharset.canonical(text) {
                    request.charset = charset
                    if charset != "UTF-8" && request.bodyFormat == .form {
                        reader.report(
                            "\(requestPath).charset", "form bodies are percent-encoded UTF-8; use json or xml")
                    }
                } else {
                    reader.report(
                        "\(requestPath).charset", "must be one of \(LegacyCharset.supported.joined(separator: ", "))")
                }
            }
            request.xml = Self.loadXMLSettings(template, request: request, at: requestPath, reader: reader)
            request.files = Self.loadFiles(
                template, request: request, at: requestPath, inputFields: inputFields, reader: reader)
            if request.method == "GET" && !request.body.isEmpty {
                reader.report("\(requestPath).body", "GET requests carry no body; use query")
            }
        } else if object["request"] == nil {
            reader.report("\(path).request", "is required")
        }
        var response = ResponseMapping(fields: [], constants: [], errors: [:])
        if let raw = object["response"], let mapping = reader.object(raw, at: "\(path).response") {
            let responsePath = "\(path).response"
            reader.checkFields(
                mapping, at: responsePath, allowed: ["fields", "constants", "errors", "faults", "document"])
            if let raw = mapping["document"], let document = reader.object(raw, at: "\(responsePath).document") {
                response.document = Self.loadDocument(document, at: "\(responsePath).document", reader: reader)
            }
            response.charset = request.charset
            if let raw = mapping["faults"], let faults = reader.object(raw, at: "\(responsePath).faults") {
                response.faults = Self.loadFaults(faults, at: "\(responsePath).faults", reader: reader)
            }
            if let raw = mapping["fields"], let fields = reader.object(raw, at: "\(responsePath).fields") {
                for name in fields.keys.sorted() {
                    if let recipe = fields[name] as? [String: Any] {
                        if let compiled = FieldRecipe.load(recipe, at: "\(responsePath).fields.\(name)", reader: reader)
                        {
                            response.recipes.append((name, compiled))
                        }
                        continue
                    }
                    guard let source = fields[name] as? String, ManifestValidation.isValidSourcePath(source) else {
                        reader.report(
                            "\(responsePath).fields.\(name)", "must be a path like $.data.amount or $.items[0].id")
                        continue
                    }
                    response.fields.append((name, source))
                }
            }
            if let raw = mapping["constants"], let constants = reader.object(raw, at: "\(responsePath).constants") {
                for name in constants.keys.sorted() { response.constants.append((name, "\(constants[name] ?? "")")) }
            }
            if let raw = mapping["errors"], let errors = reader.object(raw, at: "\(responsePath).errors") {
                for (code, slug) in errors.sorted(by: { $0.key < $1.key }) {
                    guard let status = Int(code), (400...599).contains(status) else {
                        reader.report("\(responsePath).errors.\(code)", "keys are backend status codes from 400 to 599")
                        continue
                    }
                    guard let slug = slug as? String, ManifestValidation.isValidSlug(slug) else {
                        reader.report("\(responsePath).errors.\(code)", "must be a problem slug like account-not-found")
                        continue
                    }
                    response.errors[status] = slug
                }
            }
        }
        let (bindings, exemption) = loadBindings(object, input: input, at: path, reader: reader)
        var opensCaseField: String?
        if let raw = object["opensCase"], let opensCase = reader.object(raw, at: "\(path).opensCase") {
            reader.checkFields(opensCase, at: "\(path).opensCase", allowed: ["number"])
            if let number = reader.string(opensCase, "number", at: "\(path).opensCase") {
                let field = number.hasPrefix("$.") ? String(number.dropFirst(2)) : ""
                if response.fields.contains(where: { $0.0 == field })
                    || response.recipes.contains(where: { $0.0 == field })
                {
                    opensCaseField = field
                } else {
                    reader.report(
                        "\(path).opensCase.number",
                        "must be $.<field> naming one of the answer's response.fields (\(response.fields.map(\.0).sorted().joined(separator: ", ")))"
                    )
                }
            }
            if idempotent { reader.report("\(path).opensCase", "an operation that opens a case cannot be idempotent") }
        }
        let inputJSON = object["input"].flatMap {
            try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys])
        }
        return Operation(
            name: name, scope: scope, idempotent: idempotent, timeoutMilliseconds: timeout, retries: retries,
            input: input,
            inputSchemaJSON: inputJSON.map { String(decoding: $0, as: UTF8.self) },
            request: request, response: response,
            eventOnly: reader.boolean(object, "eventOnly", at: path) ?? false, bindings: bindings,
            bindingExemption: exemption, opensCaseField: opensCaseField)
    }
}

extension ServiceManifest {
    /// Credentials travel only as `{secret.<name>}` in a header or query value: never written
    /// inline (today's `env:GJJ_API_KEY` would be sent as that literal text), never in a path or
    /// body (which backends log and echo).
    static func checkCredentials(_ request: BackendRequestTemplate, at path: String, reader: ConfigReader) {
        let hint = "declare it in each city's credentials and write {secret.<name>}"
        for (name, value) in request.headers + request.query {
            let field = request.headers.contains(where: { $0.0 == name && $0.1 == value }) ? "headers" : "query"
            if value.hasPrefix("env:") || value.hasPrefix("file:") {
                reader.report(
                    "\(path).\(field).\(name)", "would be sent as the literal text '\(value.prefix(5))…': \(hint)")
            } else if field == "headers", BackendCredential.looksLikeCredentialHeader(name),
                !TemplateRenderer.parts(of: value).contains(where: {
                    if case .placeholder = $0 { return true }
                    return false
                }), !value.isEmpty
            {
                reader.report("\(path).headers.\(name)", "is an inline credential: \(hint)")
            }
        }
        for (name, value) in [("path", request.path)] + request.body.map({ ("body.\($0.0)", $0.1) })
        where value.contains("{secret.") {
            reader.report("\(path).\(name)", "{secret.…} may appear only in a header or query value")
        }
    }
}

extension ServiceManifest {
    /// An ordered body, `[{"element": name, "value": template}]`: XML backends that validate
    /// against a schema expect their elements in its sequence, which a JSON object cannot keep.
    static func orderedBody(_ items: [Any], at path: String, inputFields: Set<String>?, reader: ConfigReader)
        -> [(String, String)]
    {
        var body: [(String, String)] = []
        for (index, item) in items.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let entry = reader.object(item, at: itemPath) else { continue }
            reader.checkFields(entry, at: itemPath, allowed: ["element", "value"])
            guard let name = reader.string(entry, "element", at: itemPath),
                let value = reader.string(entry, "value", at: itemPath)
            else { continue }
            ManifestValidation.checkTemplate(value, at: "\(itemPath).value", inputFields: inputFields, reader: reader)
            body.append((name, value))
        }
        return body
    }

    /// `soap` and `namespaces` of an xml request, with every element name checked: a QName whose
    /// prefix is declared (`"@xmlns:gjj"` or an undeclared `gjj:` would make XML the backend
    /// cannot read).
    static func loadXMLSettings(
        _ template: [String: Any], request: BackendRequestTemplate, at path: String, reader: ConfigReader
    ) -> XMLRequestSettings {
        var settings = XMLRequestSettings()
        let isXML = request.bodyFormat == .xml
        for key in ["soap", "namespaces"] where template[key] != nil && !isXML {
            reader.report("\(path).\(key)", "applies to xml bodies only (format: xml)")
        }
        if let raw = template["namespaces"], let map = reader.object(raw, at: "\(path).namespaces") {
            for prefix in map.keys.sorted() {
                guard let uri = map[prefix] as? String, !uri.isEmpty else {
                    reader.report("\(path).namespaces.\(prefix)", "must be a namespace URI")
                    continue
                }
                if !prefix.isEmpty && !XMLRequestSettings.isNCName(Substring(prefix)) {
                    reader.report("\(path).namespaces.\(prefix)", "is not an XML prefix (letters, digits, . - _)")
                } else if XMLRequestSettings.reservedPrefixes.contains(prefix) {
                    reader.report("\(path).namespaces.\(prefix)", "is reserved for the envelope")
                } else {
                    settings.namespaces.append((prefix, uri))
                }
            }
        }
        if let raw = template["soap"], let soap = reader.object(raw, at: "\(path).soap") {
            reader.checkFields(soap, at: "\(path).soap", allowed: ["version", "action", "security"])
            if let text = reader.string(soap, "version", at: "\(path).soap", required: false) {
                if let version = XMLRequestSettings.Version(rawValue: text) {
                    settings.version = version
                } else {
                    reader.report("\(path).soap.version", "must be 1.1, 1.2 or none")
                }
            }
            settings.action = reader.string(soap, "action", at: "\(path).soap", required: false)
            if let action = settings.action, action.contains("\"") || action.contains(where: \.isNewline) {
                reader.report("\(path).soap.action", "must be a URI (no quotes or line breaks)")
            }
            if let raw = soap["security"], let security = reader.object(raw, at: "\(path).soap.security") {
                let securityPath = "\(path).soap.security"
                reader.checkFields(security, at: securityPath, allowed: ["username", "password", "passwordType"])
                let username = reader.string(security, "username", at: securityPath) ?? ""
                let password = reader.string(security, "password", at: securityPath) ?? ""
                for (field, value) in [("username", username), ("password", password)]
                where !value.hasPrefix("{secret.") || !value.hasSuffix("}") {
                    reader.report(
                        "\(securityPath).\(field)",
                        "must be {secret.<name>}, one of the city's credentials (never written inline)")
                }
                let type = reader.string(security, "passwordType", at: securityPath, required: false) ?? "text"
                if type != "text" && type != "digest" {
                    reader.report("\(securityPath).passwordType", "must be text or digest")
                }
                if settings.version == .none {
                    reader.report(securityPath, "a WS-Security header needs a SOAP envelope (version 1.1 or 1.2)")
                }
                settings.security = XMLRequestSettings.UsernameToken(
                    username: CompiledTemplate(username), password: CompiledTemplate(password), digest: type == "digest"
                )
            }
        }
        guard isXML else { return settings }
        if request.headers.contains(where: { $0.0.lowercased() == "soapaction" }) {
            reader.report("\(path).headers.SOAPAction", "set soap.action instead: it is quoted as SOAP 1.1 requires")
        }
        let declared = Set(settings.namespaces.map(\.prefix))
        if let root = request.xmlRoot, let problem = XMLRequestSettings.problem(elementName: root, declared: declared) {
            reader.report("\(path).xmlRoot", problem)
        }
        for (name, _) in request.body {
            for part in name.split(separator: "/", omittingEmptySubsequences: false) {
                if let problem = XMLRequestSettings.problem(elementName: String(part), declared: declared) {
                    reader.report("\(path).body.\(name)", problem)
                    break
                }
            }
        }
        return settings
    }
}

extension ServiceManifest {
    /// `response.faults`: `{"codePath"?, "map": {code: {"problem", "status", "message"}}}`.
    static func loadFaults(_ object: [String: Any], at path: String, reader: ConfigReader) -> FaultMapping {
        var faults = FaultMapping()
        reader.checkFields(object, at: path, allowed: ["codePath", "map"])
        if let codePath = reader.string(object, "codePath", at: path, required: false) {
            if ManifestValidation.isValidSourcePath(codePath) {
                faults.codePath = ResponsePlan.steps(of: codePath)
            } else {
                reader.report("\(path).codePath", "must be a path inside the Fault element, like $.detail.ErrorCode")
            }
        }
        guard let raw = object["map"], let map = reader.object(raw, at: "\(path).map") else {
            if object["map"] == nil { reader.report("\(path).map", "is required") }
            return faults
        }
        for code in map.keys.sorted() {
            let entryPath = "\(path).map.\(code)"
            guard let entry = reader.object(map[code], at: entryPath) else { continue }
            reader.checkFields(entry, at: entryPath, allowed: ["problem", "status", "message"])
            let problem = reader.string(entry, "problem", at: entryPath) ?? ""
            if !problem.isEmpty && !ManifestValidation.isValidSlug(problem) {
                reader.report("\(entryPath).problem", "must be a problem slug like account-not-found")
            }
            let status = reader.integer(entry, "status", at: entryPath, range: 400...599) ?? 502
            let message = reader.string(entry, "message", at: entryPath) ?? ""
            faults.entries[code] = FaultMapping.Entry(problem: problem, status: status, message: message)
        }
        return faults
    }
}

extension ServiceManifest {
    /// `response.document`: `{"types": ["application/pdf", …], "maxBytes": n}`.
    static func loadDocument(_ object: [String: Any], at path: String, reader: ConfigReader) -> DocumentAnswer? {
        reader.checkFields(object, at: path, allowed: ["types", "maxBytes"])
        var types: Set<String> = []
        for (index, value) in (reader.array(object, "types", at: path) ?? []).enumerated() {
            guard let type = (value as? String)?.lowercased(), DocumentAnswer.signatures[type] != nil else {
                reader.report(
                    "\(path).types[\(index)]",
                    "must be one of \(DocumentAnswer.signatures.keys.sorted().joined(separator: ", ")) (types whose bytes the gateway can check)"
                )
                continue
            }
            types.insert(type)
        }
        if types.isEmpty && object["types"] != nil { reader.report("\(path).types", "must list at least one type") }
        // The outbound client reads at most 8 MiB of any answer.
        let maxBytes = reader.integer(object, "maxBytes", at: path, range: 1...8 * 1_048_576) ?? 5 * 1_048_576
        return types.isEmpty ? nil : DocumentAnswer(types: types, maxBytes: maxBytes)
    }
}

extension ServiceManifest {
    /// `request.files` of a `multipart` request: part name → `{"content": "{input.document}",
    /// "filename": "{input.filename}", "contentType": "application/pdf", "maxBytes": n}`.
    static func loadFiles(
        _ template: [String: Any], request: BackendRequestTemplate, at path: String, inputFields: Set<String>?,
        reader: ConfigReader
    ) -> [(name: String, part: BackendRequestTemplate.FilePart)] {
        guard let raw = template["files"] else {
            if request.bodyFormat == .multipart && request.body.isEmpty {
                reader.report("\(path).files", "a multipart request needs files or body fields")
            }
            return []
        }
        guard request.bodyFormat == .multipart else {
            reader.report("\(path).files", "applies to multipart bodies only (format: multipart)")
            return []
        }
        guard let map = reader.object(raw, at: "\(path).files") else { return [] }
        var files: [(name: String, part: BackendRequestTemplate.FilePart)] = []
        for name in map.keys.sorted() {
            let filePath = "\(path).files.\(name)"
            guard let entry = reader.object(map[name], at: filePath) else { continue }
            reader.checkFields(entry, at: filePath, allowed: ["content", "filename", "contentType", "maxBytes"])
            let content = reader.string(entry, "content", at: filePath) ?? ""
            let filename = reader.string(entry, "filename", at: filePath, required: false) ?? name
            for (field, text) in [("content", content), ("filename", filename)] {
                ManifestValidation.checkTemplate(
                    text, at: "\(filePath).\(field)", inputFields: inputFields, reader: reader)
            }
            let contentType = reader.string(entry, "contentType", at: filePath) ?? ""
            if contentType.range(of: #"^[a-z0-9.+-]+/[a-z0-9.+-]+$"#, options: .regularExpression) == nil {
                reader.report("\(filePath).contentType", "must be a media type like application/pdf")
            }
            let maxBytes = reader.integer(entry, "maxBytes", at: filePath, range: 1...8 * 1_048_576) ?? 1_048_576
            let part = BackendRequestTemplate.FilePart(
                content: CompiledTemplate(content), filename: CompiledTemplate(filename), contentType: contentType,
                maxBytes: maxBytes)
            files.append((name: name, part: part))
        }
        return files
    }
}
