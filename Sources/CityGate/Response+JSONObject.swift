import Foundation
import HTTPCore

extension Response {
    /// A 200 response whose body is `object` encoded as JSON with sorted keys (stable bytes for
    /// partners and tests).
    static func jsonObject(_ object: [String: Any], status: Status = .ok) -> Response {
        let body = JSONWriter.encode(object) ?? Array("{}".utf8)
        return Response(status: status, headers: ["Content-Type": "application/json; charset=utf-8"], body: body)
    }
}
