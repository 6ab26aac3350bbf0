import Foundation
import HTTPCore
import HTTPServer
import TestSupport
import Testing

@testable import CityGate

/// docs/problems.md is the catalogue partners and ops read, and ``ProblemType/all`` is the one
/// the code answers from: they agree both ways, slug and status, and no source spells a slug
/// outside the catalogue files.
struct ProblemCatalogueTests {
    static let root = ExternalProcess.packageRoot

    /// `slug → statuses` of every table row in docs/problems.md (a row may list several slugs).
    static func documentedRows() throws -> [String: Set<Int>] {
        let text = try String(contentsOf: root.appendingPathComponent("docs/problems.md"), encoding: .utf8)
        var rows: [String: Set<Int>] = [:]
        let slug = try NSRegularExpression(pattern: "`([a-z0-9.-]+)`")
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard cells.count > 3, let status = Int(cells[2].prefix { $0.isNumber }) else { continue }
            let first = cells[1]
            for match in slug.matches(in: first, range: NSRange(first.startIndex..., in: first)) {
                if let range = Range(match.range(at: 1), in: first) {
                    rows[String(first[range]), default: []].insert(status)
                }
            }
        }
        return rows
    }

    @Test
    func everyCataloguedKindIsDocumentedWithItsStatus() throws {
        let rows = try Self.documentedRows()
        let text = try String(contentsOf: Self.root.appendingPathComponent("docs/problems.md"), encoding: .utf8)
        for type in ProblemType.parser + ProblemType.server + ProblemType.gateway {
            #expect(rows[type.slug]?.contains(type.status) == true, "docs/problems.md has no row for \(type)")
        }
        for type in ProblemType.verification {
            #expect(text.contains("`\(type.slug)`"), "docs/problems.md does not name \(type)")
        }
    }

    @Test
    func everyDocumentedRowIsCatalogued() throws {
        let catalogue = Set(ProblemType.all.map { "\($0.slug) \($0.status)" })
        for (slug, statuses) in try Self.documentedRows() {
            for status in statuses {
                #expect(
                    catalogue.contains("\(slug) \(status)"),
                    "docs/problems.md lists \(slug) (\(status)), which no code answers")
            }
        }
    }

    @Test
    func theCatalogueHasNoDuplicatesAndListsEveryDeclaredKind() throws {
        let all = ProblemType.all
        #expect(Set(all).count == all.count, "a kind is listed twice")
        // A kind declared but left out of `gateway` would escape the docs check.
        let source = try String(
            contentsOf: Self.root.appendingPathComponent("Sources/CityGate/ProblemCatalogue.swift"), encoding: .utf8)
        let declared = source.components(separatedBy: "static let ").count - 1 - 1  // minus `gateway` itself
        #expect(declared == ProblemType.gateway.count)
    }

    /// Slugs are spelled only in the catalogue files; everything else names a kind.
    @Test
    func noSourceSpellsASlugOutsideTheCatalogue() throws {
        let catalogueFiles: Set<String> = ["ProblemCatalogue.swift", "ServerProblems.swift", "ProblemType.swift"]
        let spelled = try NSRegularExpression(pattern: #"(ProblemType\(\s*"|slug: "|problem\(\s*"[a-z])"#)
        let sources = Self.root.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)
        var offenders: [String] = []
        while let file = files?.nextObject() as? URL {
            guard file.pathExtension == "swift", !catalogueFiles.contains(file.lastPathComponent) else { continue }
            let text = try String(contentsOf: file, encoding: .utf8)
            if spelled.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil {
                offenders.append(file.lastPathComponent)
            }
        }
        #expect(offenders.isEmpty, "slugs spelled outside the catalogue: \(offenders)")
    }
}
