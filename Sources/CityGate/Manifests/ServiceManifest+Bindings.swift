import Foundation

extension ServiceManifest {
    /// Reads an operation's `bind` and `bindingExempt` (see ``SubjectBinding``); problems go to
    /// `reader`. Fields must be declared by the input schema, through nested objects only (one
    /// token has one citizen, so a field inside an array cannot be bound).
    static func loadBindings(
        _ object: [String: Any], input: InputSchema?, at path: String, reader: ConfigReader
    ) -> (bindings: [SubjectBinding], exemption: BindingExemption) {
        var bindings: [SubjectBinding] = []
        if let raw = object["bind"], let map = reader.object(raw, at: "\(path).bind") {
            for field in map.keys.sorted() {
                let fieldPath = "\(path).bind.\(field)"
                let sources = SubjectBinding.Source.allCases.map(\.rawValue).joined(separator: " or ")
                guard let text = map[field] as? String, let source = SubjectBinding.Source(rawValue: text) else {
                    let named = (map[field] as? String) ?? ""
                    let why =
                        named.hasPrefix("agent.")
                        ? "binds to the agent; bindings name the citizen acted for (\(sources))"
                        : "must be \(sources)"
                    reader.report(fieldPath, why)
                    continue
                }
                let components = field.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                guard let input else {
                    reader.report(fieldPath, "binds an input field, but the operation declares no input schema")
                    continue
                }
                guard !components.contains(where: \.isEmpty), let schema = input.schema(at: components) else {
                    reader.report(fieldPath, "names no field the input schema declares (nested fields as a.b)")
                    continue
                }
                if let types = schema.types, !types.contains(.string) {
                    reader.report(fieldPath, "binds a field that is not a string")
                    continue
                }
                bindings.append(SubjectBinding(field: field, source: source, format: schema.format))
            }
        }
        var exemption = BindingExemption.none
        switch object["bindingExempt"] {
        case nil:
            break
        case let reason as String:
            if reason.trimmingCharacters(in: .whitespaces).count < 8 {
                reader.report("\(path).bindingExempt", "must state the reason (at least 8 characters)")
            } else {
                exemption = .operation(reason)
            }
        case let map as [String: Any]:
            var reasons: [String: String] = [:]
            for field in map.keys.sorted() {
                guard let reason = map[field] as? String, reason.trimmingCharacters(in: .whitespaces).count >= 8 else {
                    reader.report("\(path).bindingExempt.\(field)", "must state the reason (at least 8 characters)")
                    continue
                }
                reasons[field] = reason
            }
            exemption = .fields(reasons)
        default:
            reader.report("\(path).bindingExempt", "must be a reason, or an object of field → reason")
        }
        return (bindings, exemption)
    }

    /// The shapes that let one citizen reach another's records, refused at load unless the
    /// manifest states why they are safe (`bindingExempt`):
    /// - a citizen or real-name operation taking a `resident-id` or `phone-cn` field without a
    ///   binding for it;
    /// - a citizen or real-name operation whose backend request carries no identity value at all
    ///   (no `{subject.…}` placeholder and no bound input field), so the backend cannot tell whose
    ///   records it is asked for.
    static func checkBindings(
        _ operation: Operation, authLevel: AuthLevel, rawIdentity: Bool, at path: String, reader: ConfigReader
    ) {
        for binding in operation.bindings where binding.source == .raw && !rawIdentity {
            reader.report(
                "\(path).bind.\(binding.field)",
                "binds to subject.raw, which needs \"identity\": \"raw\" on the service")
        }
        guard authLevel >= .citizen, !operation.eventOnly else {
            if !operation.bindings.isEmpty {
                reader.report("\(path).bind", "bindings need a citizen or real-name service (a token with a citizen)")
            }
            return
        }
        let bound = Set(operation.bindings.map(\.field))
        if case .fields(let reasons) = operation.bindingExemption {
            for field in reasons.keys.sorted() where bound.contains(field) {
                reader.report("\(path).bindingExempt.\(field)", "is bound as well; drop one of the two")
            }
        }
        for identity in operation.input?.identityFields() ?? [] where !bound.contains(identity.field) {
            guard !operation.bindingExemption.covers(identity.field) else { continue }
            let how =
                identity.inArray
                ? "it is inside an array, so it cannot be bound: state why it is safe in bindingExempt"
                : "bind it (\"bind\": {\"\(identity.field)\": \"subject.raw\"}) or state why not in bindingExempt"
            reader.report(
                "\(path).input",
                "field \(identity.field) is a \(identity.format.rawValue) but is not bound to the token's citizen; \(how)"
            )
        }
        guard case .none = operation.bindingExemption else { return }
        let boundRoots = Set(operation.bindings.compactMap(\.components.first))
        let carriesIdentity = operation.request.placeholders.contains { reference in
            let parts = reference.split(separator: ".", maxSplits: 2)
            guard parts.count >= 2 else { return false }
            return parts[0] == "subject" || (parts[0] == "input" && boundRoots.contains(String(parts[1])))
        }
        if !carriesIdentity {
            reader.report(
                "\(path).request",
                "acts for a citizen but sends the backend no identity value ({subject.id}, {subject.raw} or a bound input field); add one or state why not in bindingExempt"
            )
        }
    }
}

extension InputSchema {
    /// The schema of the member reached through `components` (nested object properties).
    func schema(at components: [String]) -> InputSchema? {
        var schema = self
        for name in components {
            guard let nested = schema.properties[name] else { return nil }
            schema = nested
        }
        return schema
    }

    /// Every string field with an identity format (`resident-id`, `phone-cn`), dotted from the
    /// input object, and whether it sits inside an array.
    func identityFields() -> [(field: String, format: InputFormat, inArray: Bool)] {
        var found: [(field: String, format: InputFormat, inArray: Bool)] = []
        collectIdentityFields(prefix: "", inArray: false, into: &found)
        return found
    }

    private func collectIdentityFields(
        prefix: String, inArray: Bool, into found: inout [(field: String, format: InputFormat, inArray: Bool)]
    ) {
        if let format, format == .residentId || format == .phoneCN, !prefix.isEmpty {
            found.append((prefix, format, inArray))
        }
        for name in propertyOrder {
            guard let nested = properties[name] else { continue }
            nested.collectIdentityFields(
                prefix: prefix.isEmpty ? name : "\(prefix).\(name)", inArray: inArray, into: &found)
        }
        items?.collectIdentityFields(prefix: prefix + "[]", inArray: true, into: &found)
    }
}

extension BackendRequestTemplate {
    /// Every placeholder reference in the path, query, headers and body (`input.year`, …).
    var placeholders: [Substring] {
        let templates = [path] + query.map(\.1) + headers.map(\.1) + body.map(\.1)
        return templates.flatMap { template in
            TemplateRenderer.parts(of: template).compactMap { part -> Substring? in
                if case .placeholder(let reference) = part { return reference }
                return nil
            }
        }
    }
}
