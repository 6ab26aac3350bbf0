import Foundation

/// Where a secret lives: never in the configuration itself.
///
/// `env:NAME` reads an environment variable; `file:relative/path` reads a file relative to the
/// configuration file's directory (one trailing newline is dropped). Anything else is refused as
/// an inline secret.
public enum SecretReference: Sendable, Equatable {
    case environment(String)
    case file(String)

    /// Parses a reference; nil when `text` is not one (i.e. it looks like an inline secret).
    public init?(_ text: String, relativeTo directory: String) {
        if text.hasPrefix("env:") {
            let name = String(text.dropFirst(4))
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                return nil
            }
            self = .environment(name)
        } else if text.hasPrefix("file:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else { return nil }
            // An absolute base first: corelibs-foundation drops a relative base when standardizing.
            let base = directory.hasPrefix("/") ? directory : FileManager.default.currentDirectoryPath + "/" + directory
            self = .file(
                path.hasPrefix("/") ? path : URL(fileURLWithPath: base).appendingPathComponent(path).standardized.path)
        } else {
            return nil
        }
    }

    /// Why a reference could not be resolved; the message names the variable or file, never
    /// the secret.
    public struct Unresolved: Error, Sendable {
        /// What is missing.
        public var message: String
    }

    /// The secret's text, or what is missing.
    public func resolve(environment: [String: String]) -> Result<String, Unresolved> {
        switch self {
        case .environment(let name):
            guard let value = environment[name], !value.isEmpty else {
                return .failure(Unresolved(message: "environment variable \(name) is not set"))
            }
            return .success(value)
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                return .failure(Unresolved(message: "cannot read \(path)"))
            }
            guard var text = String(data: data, encoding: .utf8) else {
                return .failure(Unresolved(message: "\(path) is not UTF-8 text"))
            }
            if text.hasSuffix("\n") { text.removeLast() }
            if text.hasSuffix("\r") { text.removeLast() }
            guard !text.isEmpty else { return .failure(Unresolved(message: "\(path) is empty")) }
            return .success(text)
        }
    }
}
