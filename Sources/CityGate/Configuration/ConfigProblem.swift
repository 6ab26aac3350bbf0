/// One problem in the configuration tree, reported as `file: json-path: message`.
public struct ConfigProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file, relative to the manifests directory (e.g. `partners/wechat-city.json`).
    public var file: String
    /// The JSON path (`$`, `$.keys[0].secret`).
    public var path: String
    /// What is wrong, never quoting a secret.
    public var message: String

    /// Creates a problem.
    public init(file: String, path: String, message: String) {
        self.file = file
        self.path = path
        self.message = message
    }

    /// `file: json-path: message`.
    public var description: String { "\(file): \(path): \(message)" }
}

/// Every problem found in one load, so a city IT team fixes them all in one pass.
public struct ConfigProblems: Error, Sendable, CustomStringConvertible {
    /// The problems, in the order found.
    public var problems: [ConfigProblem]

    /// One line per problem.
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
