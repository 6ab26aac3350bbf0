import Foundation
import HTTPCore

extension Response {
    /// A 200 response whose body is `object` encoded as JSON with sorted keys (stable bytes for
    /// partners and tests).
    static func jsonObject(_ object: [String: Any]) -> Response {
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return Response(status: .ok, headers: ["Content-Type": "application/json; charset=utf-8"], body: Array(data))
    }
}
