import Foundation

/// Reads decoded JSON while tracking the JSON path, collecting every problem instead of stopping
/// at the first, and refusing unknown fields (a typo must not silently become a default).
final class ConfigReader {
    let file: String
    private(set) var problems: [ConfigProblem] = []

    init(file: String) {
        self.file = file
    }

    func report(_ path: String, _ message: String) {
        problems.append(ConfigProblem(file: file, path: path, message: message))
    }

    /// Parses a file's bytes as a JSON object. Syntax errors (and a member named twice, which
    /// a JSON library would silently read as the last one) are reported by `line:column`.
    func document(_ data: Data) -> [String: Any]? {
        let bytes = Array(data)
        do {
            _ = try JSONReader.parse(bytes)
        } catch {
            let (line, column) = Self.position(of: error.offset, in: bytes)
            report("$", "is not valid JSON: line \(line), column \(column): \(error.reason)")
            return nil
        }
        do {
            guard let object = try JSONSerialization.jsonObject(with: data, options: []) as? [String: Any] else {
                report("$", "must be a JSON object")
                return nil
            }
            return object
        } catch {
            report(
                "$",
                "is not valid JSON (\((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "parse error"))"
            )
            return nil
        }
    }

    /// The 1-based line and column (in characters) of byte `offset`.
    static func position(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        let end = min(max(0, offset), bytes.count)
        var line = 1
        var lineStart = 0
        for index in 0..<end where bytes[index] == 0x0A {
            line += 1
            lineStart = index + 1
        }
        let column = String(decoding: bytes[lineStart..<end], as: UTF8.self).count + 1
        return (line, column)
    }

    /// Reports fields that are not in `allowed`.
    func checkFields(_ object: [String: Any], at path: String, allowed: Set<String>) {
        // A file's `$schema` names its JSON Schema (docs/schema) for editors; it means nothing here.
        for key in object.keys.sorted() where !allowed.contains(key) && !(path == "$" && key == "$schema") {
            report("\(path).\(key)", "unknown field (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    func string(_ object: [String: Any], _ key: String, at path: String, required: Bool = true) -> String? {
        guard let value = object[key] else {
            if required { report("\(path).\(key)", "is required") }
            return nil
        }
        guard let text = value as? String else {
            report("\(path).\(key)", "must be a string")
            return nil
        }
        if required && text.isEmpty { report("\(path).\(key)", "must not be empty") }
        return text
    }

    func integer(_ object: [String: Any], _ key: String, at path: String, range: ClosedRange<Int>) -> Int? {
        guard let value = object[key] else { return nil }
        // JSON booleans decode as NSNumber too; their objCType is "c", real numbers' is not.
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c",
            number.doubleValue == Double(number.intValue)
        else {
            report("\(path).\(key)", "must be a whole number")
            return nil
        }
        guard range.contains(number.intValue) else {
            report("\(path).\(key)", "must be between \(range.lowerBound) and \(range.upperBound)")
            return nil
        }
        return number.intValue
    }

    func boolean(_ object: [String: Any], _ key: String, at path: String) -> Bool? {
        guard let value = object[key] else { return nil }
        guard let number = value as? NSNumber, String(cString: number.objCType) == "c" else {
            report("\(path).\(key)", "must be true or false")
            return nil
        }
        return number.boolValue
    }

    func array(_ object: [String: Any], _ key: String, at path: String, required: Bool = true) -> [Any]? {
        guard let value = object[key] else {
            if required { report("\(path).\(key)", "is required") }
            return nil
        }
        guard let items = value as? [Any] else {
            report("\(path).\(key)", "must be an array")
            return nil
        }
        return items
    }

    func object(_ value: Any?, at path: String) -> [String: Any]? {
        guard let object = value as? [String: Any] else {
            report(path, "must be an object")
            return nil
        }
        return object
    }

    /// A secret field: an `env:`/`file:` reference resolved now, so a missing secret is a load
    /// problem, never a failure at the first request. Inline values are refused.
    func secret(
        _ object: [String: Any], _ key: String, at path: String, directory: String, environment: [String: String]
    ) -> String? {
        guard let text = string(object, key, at: path, required: false) else { return nil }
        guard let reference = SecretReference(text, relativeTo: directory) else {
            report("\(path).\(key)", "must be an env: or file: reference, not an inline secret")
            return nil
        }
        switch reference.resolve(environment: environment) {
        case .success(let value): return value
        case .failure(let unresolved):
            report("\(path).\(key)", unresolved.message)
            return nil
        }
    }
}
