/// One kind of problem: the slug its `type` URI ends with and the status it is answered with.
///
/// Every layer declares its kinds once, in one catalogue (`ProblemType.server` in HTTPServer,
/// `ProblemType.gateway` in CityGate, the parser's and the verifiers' from their enumerations);
/// code names them (`.storeUnavailable`), never spells a slug, and `docs/problems.md` is checked
/// against the catalogues both ways (`ProblemCatalogueTests`).
public struct ProblemType: Sendable, Hashable, CustomStringConvertible {
    /// The slug (`store-unavailable`).
    public let slug: String
    /// The HTTP status code.
    public let status: Int

    /// Declares a kind; only catalogues call this.
    public init(_ slug: String, _ status: Int) {
        self.slug = slug
        self.status = status
    }

    /// The status's standard reason phrase: the problem's `title`.
    public var title: String { Status.standardPhrase(for: status) }

    /// `slug (status)`.
    public var description: String { "\(slug) (\(status))" }

    /// Every kind the request parser answers with.
    public static var parser: [ProblemType] {
        HTTPParseError.Kind.allCases.map { kind in
            let status = HTTPParseError(kind).status.code
            return ProblemType(kind.rawValue, status)
        }
    }
}

extension Problem {
    /// A problem of a catalogued kind.
    public init(
        _ type: ProblemType, detail: String, requestId: String = "", extensions: [String: String] = [:]
    ) {
        self.init(
            slug: type.slug, title: type.title, status: type.status, detail: detail, requestId: requestId,
            extensions: extensions)
    }
}
