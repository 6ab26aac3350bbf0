import Foundation
import TestSupport
import Testing

/// The field reference in docs/manifests.md and the loader agree: every field a table documents
/// is one the loader accepts, and every field the loader accepts is documented. The loader says
/// what it accepts itself, in its "unknown field (allowed: …)" message, so nothing here keeps a
/// second list that could drift.
struct ManifestReferenceTests {
    static let reference = ExternalProcess.packageRoot.appendingPathComponent("docs/manifests.md")

    /// The backticked first-column names of the first table after the line starting `heading`.
    static func documentedFields(after heading: String) throws -> Set<String> {
        let text = try String(contentsOf: reference, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix(heading) }) else { return [] }
        var fields: Set<String> = []
        var inTable = false
        for line in lines[(start + 1)...] {
            if line.hasPrefix("|") {
                inTable = true
                let cell = line.dropFirst().prefix { $0 != "|" }.trimmingCharacters(in: .whitespaces)
                if cell.hasPrefix("`"), cell.hasSuffix("`"), cell.count > 2 {
                    fields.insert(String(cell.dropFirst().dropLast()))
                }
            } else if inTable {
                break
            }
        }
        return fields
    }

    /// Where a table's fields live: the file, how to reach the object, its JSON path.
    struct Place: Sendable, CustomStringConvertible {
        let heading: String
        let file: String
        let jsonPath: String
        let edit: @Sendable (inout [String: Any], (inout [String: Any]) -> Void) -> Void
        var description: String { "\(file) \(jsonPath)" }
    }

    /// Applies `body` to the permit service's `apply` operation.
    static func editApply(_ service: inout [String: Any], _ body: (inout [String: Any]) -> Void) {
        var operations = service["operations"] as? [String: [String: Any]] ?? [:]
        var apply = operations["apply"] ?? [:]
        body(&apply)
        operations["apply"] = apply
        service["operations"] = operations
    }

    /// Applies `body` to the object at `key` of the permit service's `apply` operation.
    static func editApply(_ key: String, _ service: inout [String: Any], _ body: (inout [String: Any]) -> Void) {
        editApply(&service) { apply in
            var nested = apply[key] as? [String: Any] ?? [:]
            body(&nested)
            apply[key] = nested
        }
    }

    static let places: [Place] = [
        Place(heading: "## `services/<id>.json`", file: "services/permit.application.json", jsonPath: "$") {
            $1(&$0)
        },
        Place(heading: "### Operations", file: "services/permit.application.json", jsonPath: "$.operations.apply") {
            editApply(&$0, $1)
        },
        Place(heading: "`request`:", file: "services/permit.application.json", jsonPath: "$.operations.apply.request") {
            editApply("request", &$0, $1)
        },
        Place(
            heading: "`response`:", file: "services/permit.application.json", jsonPath: "$.operations.apply.response"
        ) { editApply("response", &$0, $1) },
        Place(heading: "## `cities/<code>.json`", file: "cities/330100.json", jsonPath: "$") { $1(&$0) },
    ]

    /// The problems of the sample tree with `change` applied to `place`'s object.
    static func problems(_ place: Place, _ change: @escaping @Sendable (inout [String: Any]) -> Void) throws
        -> [String]
    {
        try ManifestSetTests.problems([place.file: { object in place.edit(&object, change) }])
    }

    @Test(arguments: places)
    func documentedAndAcceptedFieldsAreTheSame(place: Place) throws {
        let documented = try Self.documentedFields(after: place.heading)
        #expect(!documented.isEmpty, "no table after \(place.heading)")
        // What the loader accepts, in its own words.
        let probe = try Self.problems(place) { $0["zzzUndocumented"] = 1 }
        let unknown = try #require(
            probe.first { $0.hasPrefix("\(place.file): \(place.jsonPath).zzzUndocumented: unknown field (allowed: ") },
            "\(probe)")
        let accepted = Set(
            unknown.split(separator: "(allowed: ").last?.dropLast().split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            } ?? [])
        #expect(
            documented.subtracting(accepted).isEmpty,
            "documented in docs/manifests.md but refused by the loader: \(documented.subtracting(accepted).sorted())")
        #expect(
            accepted.subtracting(documented).isEmpty,
            "accepted by the loader but not documented: \(accepted.subtracting(documented).sorted())")
    }
}
