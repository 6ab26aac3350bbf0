import HTTPCore

/// Routes by method and path pattern, with `{name}` segments captured as path parameters.
///
/// Lookup walks a tree of path segments, literal children first, so its cost depends on the
/// path's depth, not the number of routes. An unknown path answers 404; a known path with
/// another method answers 405 with `Allow` (HEAD is served by the GET handler).
public struct Router: Responder {
    /// A route handler. Thrown errors become problems: a ``ProblemConvertible`` error gives its
    /// own, anything else a 500 that reveals nothing of the error.
    public typealias Handler = @Sendable (Request, RequestContext) async throws -> Response

    final class Node: @unchecked Sendable {
        // Written only while the router is being built (before it is shared), read-only after;
        // `Router` is a value that copies on write through `isKnownUniquelyReferenced`.
        var literals: [String: Node] = [:]
        var parameter: (name: String, node: Node)?
        var handlers: [String: Handler] = [:]

        /// The child for a literal segment. A few children are compared byte by byte: no String
        /// is made from the segment and nothing is hashed (most nodes have one or two).
        func literal(_ segment: Substring) -> Node? {
            if literals.count <= 4 {
                for (name, child) in literals where name.utf8.elementsEqual(segment.utf8) { return child }
                return nil
            }
            return literals[String(segment)]
        }

        func copy() -> Node {
            let node = Node()
            node.literals = literals.mapValues { $0.copy() }
            node.parameter = parameter.map { ($0.name, $0.node.copy()) }
            node.handlers = handlers
            return node
        }
    }

    private var root = Node()

    /// Creates an empty router.
    public init() {}

    /// Adds a route. A later route for the same method and pattern replaces the earlier one.
    /// - Parameters:
    ///   - method: the method token, e.g. `GET`.
    ///   - pattern: a path such as `/v1/cities/{city}/services`.
    ///   - handler: the handler.
    public mutating func add(_ method: String, _ pattern: String, handler: @escaping Handler) {
        if !isKnownUniquelyReferenced(&root) { root = root.copy() }
        var node = root
        for segment in PathSegments(pattern) {
            if segment.hasPrefix("{") && segment.hasSuffix("}") {
                let name = String(segment.dropFirst().dropLast())
                if let existing = node.parameter {
                    node = existing.node
                } else {
                    let child = Node()
                    node.parameter = (name, child)
                    node = child
                }
            } else if let child = node.literals[String(segment)] {
                node = child
            } else {
                let child = Node()
                node.literals[String(segment)] = child
                node = child
            }
        }
        node.handlers[method] = handler
    }

    /// Adds a GET route.
    public mutating func get(_ pattern: String, handler: @escaping Handler) {
        add("GET", pattern, handler: handler)
    }

    /// Adds a POST route.
    public mutating func post(_ pattern: String, handler: @escaping Handler) {
        add("POST", pattern, handler: handler)
    }

    /// The outcome of matching a method and path.
    public enum Match {
        /// A handler and the captured parameters.
        case found(Handler, [String: String])
        /// The path exists; these methods are allowed on it.
        case methodNotAllowed([String])
        /// No route has this path.
        case notFound
        /// The path has an invalid percent-encoding.
        case badPath
    }

    /// Matches a method and a raw (still percent-encoded) path.
    public func match(method: String, path: String) -> Match {
        var node = root
        var parameters: [String: String] = [:]
        for segment in PathSegments(path) {
            if let child = node.literal(segment) {
                node = child
            } else if let (name, child) = node.parameter {
                guard let decoded = PercentDecoding.decode(segment), !decoded.isEmpty else { return .badPath }
                parameters[name] = decoded
                node = child
            } else {
                return .notFound
            }
        }
        if node.handlers.isEmpty { return .notFound }
        if let handler = node.handlers[method] { return .found(handler, parameters) }
        if method == "HEAD", let handler = node.handlers["GET"] { return .found(handler, parameters) }
        var allowed = Array(node.handlers.keys)
        if allowed.contains("GET") { allowed.append("HEAD") }
        return .methodNotAllowed(allowed.sorted())
    }

    /// Routes the request and runs its handler.
    public func respond(to request: Request, context: RequestContext) async -> Response {
        switch match(method: request.method, path: request.path) {
        case .found(let handler, let parameters):
            var context = context
            context.pathParameters = parameters
            do {
                return try await handler(request, context)
            } catch let error as any ProblemConvertible {
                return error.response(requestId: context.requestId)
            } catch {
                return .problem(
                    Problem(
                        .internalError, detail: "The request could not be completed; quote the request id to support.",
                        requestId: context.requestId))
            }
        case .methodNotAllowed(let allowed):
            return .problem(
                Problem(
                    .methodNotAllowed,
                    detail: "\(request.method) is not allowed here; allowed: \(allowed.joined(separator: ", ")).",
                    requestId: context.requestId, extensions: ["allow": allowed.joined(separator: ", ")]))
        case .notFound:
            return .problem(
                Problem(.notFound, detail: "No route matches this path.", requestId: context.requestId))
        case .badPath:
            return .problem(
                Problem(
                    .invalidPath, detail: "A path segment has an invalid percent-encoding.",
                    requestId: context.requestId))
        }
    }

}

/// The non-empty `/`-separated segments of a path, produced one at a time without building an
/// array (matching runs for every request).
struct PathSegments: Sequence, IteratorProtocol {
    // The UTF-8 view: "/" is one byte, and stepping by Character would break graphemes on
    // every request.
    private let path: Substring.UTF8View
    private var position: Substring.UTF8View.Index

    init(_ path: String) {
        self.path = Substring(path).utf8
        self.position = self.path.startIndex
    }

    mutating func next() -> Substring? {
        let slash = UInt8(ascii: "/")
        while position < path.endIndex && path[position] == slash { path.formIndex(after: &position) }
        guard position < path.endIndex else { return nil }
        let start = position
        while position < path.endIndex && path[position] != slash { path.formIndex(after: &position) }
        return Substring(path[start..<position])
    }
}
