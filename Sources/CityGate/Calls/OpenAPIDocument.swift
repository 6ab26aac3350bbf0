import Foundation

/// `GET /v1/cities/{city}/openapi.json`: an OpenAPI 3.1 document of what the city's enabled
/// manifests offer, generated from them (nothing hand-written to drift): one path per operation
/// with its input schema as written, its mapped answer's fields (typed where the manifest types
/// them), every problem it can answer, and the security each auth level needs.
enum OpenAPIDocument {
    /// Statuses every call can be refused with, whatever the manifest says (docs/problems.md).
    static let refusals: [(Int, String)] = [
        (400, "The body is not a JSON object, or the request is malformed (invalid-json, parser problems)."),
        (401, "Missing or failed partner signature, or a missing or invalid citizen token."),
        (
            403,
            "The partner may not call this city, the token lacks scope, a bound field is another citizen's, or a client certificate is refused."
        ),
        (404, "No such city, service or operation here."),
        (408, "The request did not arrive in time."),
        (409, "A replayed signature, or an Idempotency-Key still in use."),
        (413, "The body is over the size limit."),
        (414, "The request target is too long."),
        (422, "The input does not match the operation's schema, or an Idempotency-Key was reused for another body."),
        (429, "A rate limit is used up (Retry-After, RateLimit-Policy, RateLimit)."),
        (431, "The header section is too large."),
        (502, "The backend failed, refused the gateway's request, or answered what the manifest cannot map."),
        (
            503,
            "The service is paused (its notice), the backend is protected (breaker, bulkhead), or a store is unavailable."
        ),
        (504, "The backend did not answer in time."),
    ]

    static func build(city: CityConfiguration, manifests: ManifestSet, issuer: String) -> [String: Any] {
        var paths: [String: Any] = [:]
        var tags: [[String: Any]] = []
        var scopes: [String: String] = [:]
        for id in city.services.keys.sorted() {
            guard let entry = city.services[id], entry.enabled, let service = manifests.services[id], service.enabled
            else { continue }
            tags.append(["name": id, "description": "\(service.nameZh) \(service.nameEn) — \(service.departmentName)"])
            for name in service.operations.keys.sorted() {
                guard let operation = service.operations[name], !operation.eventOnly else { continue }
                scopes[operation.scope] = "\(service.nameEn): \(name)"
                paths["/v1/cities/\(city.code)/services/\(id)/\(name)"] = [
                    "post": self.operation(operation, named: name, service: service)
                ]
            }
        }
        let problem: [String: Any] = [
            "type": "object", "required": ["type", "title", "status", "requestId"],
            "properties": [
                "type": ["type": "string"], "title": ["type": "string"], "status": ["type": "integer"],
                "detail": ["type": "string"], "requestId": ["type": "string"],
            ],
        ]
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "CityGate: \(city.nameZh) \(city.nameEn) (\(city.code))",
                "version": String(manifests.contentHash.prefix(12)),
                "description":
                    "Government services of \(city.nameEn) through CityGate. Every call is signed by the partner platform's own scheme (docs/verification.md); the request bodies below are the call input, which WeChat- and Alipay-style platforms carry inside their own envelopes.",
            ],
            "servers": [["url": issuer]],
            "tags": tags,
            "paths": paths,
            "components": [
                "schemas": ["Problem": problem],
                "securitySchemes": [
                    "partnerSignature": [
                        "type": "apiKey", "in": "header", "name": "X-Partner-Id",
                        "description":
                            "The partner's id; the request is signed with its scheme's headers (webhook-signature, X-Signature, WeChat and Alipay parameters).",
                    ],
                    "citizenToken": [
                        "type": "oauth2",
                        "description":
                            "A citizen's access token: token exchange (RFC 8693) of a partner-signed assertion at the token endpoint.",
                        "flows": ["clientCredentials": ["tokenUrl": issuer + "/oauth/token", "scopes": scopes]],
                    ],
                ],
            ],
        ]
    }

    private static func operation(_ operation: ServiceManifest.Operation, named name: String, service: ServiceManifest)
        -> [String: Any]
    {
        var parameters: [[String: Any]] = [
            ["name": "X-Partner-Id", "in": "header", "required": true, "schema": ["type": "string", "minLength": 1]]
        ]
        if !operation.idempotent {
            parameters.append([
                "name": "Idempotency-Key", "in": "header", "required": false,
                "description": "A retried application with the same key is answered from the first (24 h).",
                "schema": ["type": "string", "minLength": 1, "maxLength": 255],
            ])
        }
        var input: Any = ["type": "object"]
        if let text = operation.inputSchemaJSON, let schema = try? JSONSerialization.jsonObject(with: Data(text.utf8)) {
            input = schema
        }
        var properties: [String: Any] = [:]
        for (field, _) in operation.response.fields { properties[field] = [String: Any]() }
        for (field, recipe) in operation.response.recipes { properties[field] = recipe.jsonSchema }
        for (field, _) in operation.response.constants { properties[field] = ["type": "string"] }
        if operation.opensCaseField != nil {
            properties["deadlines"] = [
                "type": "object",
                "properties": [
                    "countsFrom": ["type": "string", "format": "date"],
                    "promisedBy": ["type": "string", "format": "date"],
                    "legalBy": ["type": "string", "format": "date"],
                ],
            ]
        }
        var responses: [String: Any] = [
            "200": [
                "description": "The backend's answer, mapped.",
                "content": ["application/json": ["schema": ["type": "object", "properties": properties]]],
            ]
        ]
        var described: [Int: [String]] = [:]
        for (status, slug) in operation.response.errors {
            described[status >= 500 ? 502 : status, default: []].append(slug)
        }
        for entry in operation.response.faults.entries.values {
            described[entry.status, default: []].append(entry.problem)
        }
        for (status, text) in refusals { described[status, default: []].insert(text, at: 0) }
        for (status, texts) in described {
            responses[String(status)] = [
                "description": texts.joined(separator: " Service problems: ").replacingOccurrences(of: "  ", with: " "),
                "content": ["application/problem+json": ["schema": ["$ref": "#/components/schemas/Problem"]]],
            ]
        }
        var security: [String: [String]] = ["partnerSignature": []]
        if service.authLevel >= .citizen { security["citizenToken"] = [operation.scope] }
        let slugs = Set(operation.response.errors.values).union(operation.response.faults.entries.values.map(\.problem))
        return [
            "operationId": "\(service.id).\(name)",
            "summary": "\(service.nameZh) · \(name)",
            "description":
                "\(service.nameEn) (\(service.departmentName), auth level \(service.authLevel.rawValue))."
                + (slugs.isEmpty ? "" : " Service problem slugs: \(slugs.sorted().joined(separator: ", ")).")
                + (operation.bindings.isEmpty
                    ? ""
                    : " Bound to the token's citizen: \(operation.bindings.map(\.field).sorted().joined(separator: ", ")).")
                + (operation.opensCaseField != nil
                    ? " Opens a case; the answer carries its working-day deadlines." : ""),
            "tags": [service.id],
            "parameters": parameters,
            "requestBody": ["required": true, "content": ["application/json": ["schema": input]]],
            "responses": responses,
            "security": [security],
        ]
    }
}
