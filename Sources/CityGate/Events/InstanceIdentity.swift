import Cryptography
import Foundation

/// This instance's name among the instances sharing a store: random, kept in the data
/// directory (`instance-id`), so a restart under the same directory is the same instance and
/// can release the delivery leases its previous run held.
enum InstanceIdentity {
    /// Why the name cannot be read or made.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The name in `directory/instance-id`, made on first use.
    static func load(directory: String) throws(Failure) -> String {
        let path = directory + "/instance-id"
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let name = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard name.count == 32, name.allSatisfy(\.isHexDigit) else {
                throw Failure(description: "\(path): not an instance id (32 hex digits); delete it to make a new one")
            }
            return name
        }
        guard let bytes = try? SecureBytes.random(count: 16) else {
            throw Failure(description: "no randomness for \(path)")
        }
        let name = Encoding.hex(bytes)
        do { try (name + "\n").write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw Failure(description: "cannot write \(path)")
        }
        return name
    }
}
