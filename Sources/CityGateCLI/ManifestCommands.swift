import CityGate
import HTTPServer
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// `citygate validate [--manifests DIR]` and `citygate routes [--manifests DIR]`.
enum ManifestCommands {
    static func manifestsDirectory(_ arguments: [String]) -> String {
        var directory = "manifests"
        var remaining = arguments[...]
        while let flag = remaining.popFirst() {
            guard flag == "--manifests" else { usageError("unknown option '\(flag)'") }
            guard let value = remaining.popFirst() else { usageError("--manifests needs a directory") }
            directory = value
        }
        return directory
    }

    /// Exit 0 with a summary, or 1 with every problem, one per line.
    static func validate(_ arguments: [String]) -> Never {
        switch ManifestSet.load(directory: manifestsDirectory(arguments)) {
        case .success(let set):
            let operations = set.services.values.reduce(0) { $0 + $1.operations.count }
            print(
                "ok: \(set.cities.count) cities, \(set.services.count) services (\(operations) operations), "
                    + "\(set.partners.count) partners; sha256 \(set.contentHash)")
            exit(0)
        case .failure(let problems):
            Log.standardError(problems.description + "\n\(problems.problems.count) problem(s)\n")
            exit(1)
        }
    }

    /// The public routes the tree produces.
    static func routes(_ arguments: [String]) -> Never {
        switch ManifestSet.load(directory: manifestsDirectory(arguments)) {
        case .success(let set):
            for line in set.routeLines() { print(line) }
            exit(0)
        case .failure(let problems):
            Log.standardError(problems.description + "\n")
            exit(1)
        }
    }
}
