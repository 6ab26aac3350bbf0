import Foundation

/// Runs Tests/Interop/partner.py in the venv made by scripts/venv.sh: independent implementations
/// of each partner platform, from PyPI.
public enum Interop {
    /// The venv's interpreter.
    public static let python = ExternalProcess.packageRoot.appendingPathComponent(".build/venv/bin/python").path

    /// Sends one command to `script` (under Tests/Interop) and returns the answer.
    public static func run(_ command: [String: Any], script name: String = "partner.py") async throws -> [String: Any] {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw RawClient.Failure(description: "no venv at \(python): run scripts/venv.sh (make test does)")
        }
        let script = ExternalProcess.packageRoot.appendingPathComponent("Tests/Interop/\(name)").path
        let input = try JSONSerialization.data(withJSONObject: command)
        let result = try await ExternalProcess.run(python, [script], input: input)
        guard result.status == 0,
            let answer = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
        else { throw RawClient.Failure(description: "\(name) \(command["op"] ?? ""): \(result.standardError)") }
        return answer
    }
}
