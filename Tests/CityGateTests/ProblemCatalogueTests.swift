import Foundation
import TestSupport
import Testing

/// docs/problems.md is the catalogue partners and ops read: every problem slug the sources write
/// must be listed there. (Slugs of the HTTP layer and the verifiers come from enumerations and
/// are listed there too; this test reads the literal ones, where a new slug is easiest to add
/// and forget.)
struct ProblemCatalogueTests {
    @Test
    func everySlugTheSourcesWriteIsDocumented() throws {
        let root = ExternalProcess.packageRoot
        let catalogue = try String(contentsOf: root.appendingPathComponent("docs/problems.md"), encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"(?:problem\(\s*|slug: )"([a-z0-9-]+)""#)
        var slugs: Set<String> = []
        let sources = root.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)
        while let file = files?.nextObject() as? URL {
            guard file.pathExtension == "swift" else { continue }
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                if let range = Range(match.range(at: 1), in: text) { slugs.insert(String(text[range])) }
            }
        }
        #expect(slugs.count > 20, "the scan found the problem calls (\(slugs.count))")
        let missing = slugs.filter { !catalogue.contains("`\($0)`") }.sorted()
        #expect(missing.isEmpty, "problem slugs not in docs/problems.md: \(missing)")
    }
}
