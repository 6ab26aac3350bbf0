import Foundation

/// The public test vectors under Tests/Vectors (copied from the schemes' specifications and
/// reference libraries; each file names its source).
public enum Vectors {
    /// Loads one vector file as JSON.
    public static func load(_ name: String) throws -> [String: Any] {
        let url = ExternalProcess.packageRoot.appendingPathComponent("Tests/Vectors/\(name)")
        let data = try Data(contentsOf: url)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw RawClient.Failure(description: "\(name) is not a JSON object")
        }
        return object
    }
}
