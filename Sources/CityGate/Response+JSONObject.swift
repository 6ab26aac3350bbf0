import Foundation
import HTTPCore

extension Response {
    /// A 200 response whose body is `object` encoded as JSON with sorted keys (stable bytes for
    /// partners and tests).
    static func jsonObject(_ object: [String: Any]) -> Response {
        let body = JSONWriter.encode(object) ?? Array("{}".utf8)
        return Response(status: .ok, headers: ["Content-Type": "application/json; charset=utf-8"], body: body)
    }
}
