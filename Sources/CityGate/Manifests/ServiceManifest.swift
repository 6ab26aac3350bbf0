/// One government service, as its city IT team describes it (`services/<id>.json`): the plugin.
public struct ServiceManifest: Sendable {
    /// Who may call a service.
    public enum AuthLevel: String, Sendable, CaseIterable, Comparable {
        /// Anyone, through any partner.
        case `public`
        /// A partner acting for itself.
        case partner
        /// A citizen signed in at the partner.
        case citizen
        /// A citizen whose identity the partner verified (实名).
        case realName = "real-name"

        public static func < (lhs: AuthLevel, rhs: AuthLevel) -> Bool {
            allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
        }
    }

    /// One operation a partner can call.
    public struct Operation: Sendable {
        /// The operation name (last path segment of the call route).
        public var name: String
        /// The token scope it requires.
        public var scope: String
        /// Whether repeating it is harmless (only then is it retried).
        public var idempotent: Bool
        /// The deadline of one call, milliseconds.
        public var timeoutMilliseconds: Int
        /// Retries after the first attempt (idempotent operations only).
        public var retries: Int
        /// The input schema.
        public var input: InputSchema?
        /// The input schema as written, for the service guide.
        public var inputSchemaJSON: String?
        /// How the backend request is built.
        public var request: BackendRequestTemplate
        /// How the backend answer is mapped back.
        public var response: ResponseMapping
        /// Reached only by partner events: not in the catalog, and 404 on the call route.
        public var eventOnly: Bool = false
        /// Input fields that must equal the token citizen's identity (`bind`).
        public var bindings: [SubjectBinding] = []
        /// Why identity-shaped input may go unbound (`bindingExempt`).
        public var bindingExemption: BindingExemption = .none
        /// The answer's field that holds the case number when this operation opens a case
        /// (`"opensCase": {"number": "$.caseNumber"}`): the gateway records the case and adds its
        /// working-day deadlines to the answer.
        public var opensCaseField: String? = nil
    }

    /// A rate limit declaration.
    public struct RateLimit: Sendable, Equatable {
        /// What is counted: partner, city, service, operation, subject, ip.
        public var scope: String
        /// Requests allowed per period.
        public var limit: Int
        /// The period in seconds.
        public var periodSeconds: Int
        /// Extra requests allowed in a burst.
        public var burst: Int
    }

    public var id: String
    public var version: String
    public var nameZh: String
    public var nameEn: String
    public var departmentCode: String
    public var departmentName: String
    public var itemCode: String
    public var category: String
    public var authLevel: AuthLevel
    public var legalDays: Int
    public var promisedDays: Int
    public var backend: String
    public var operations: [String: Operation]
    /// Partner event type (`<partner id or scheme>:<event>`) → operation name.
    public var events: [String: String]
    /// Event key → the field path whose value orders delivery (one at a time per value).
    public var eventOrdering: [String: String] = [:]
    public var rateLimits: [RateLimit]
    public var enabled: Bool
    public var disabledNoticeZh: String?
    public var disabledNoticeEn: String?
    /// `"identity": "raw"`: the backend receives the citizen's partner-side id as `{subject.raw}`.
    public var rawIdentity: Bool = false
}

/// How an operation's backend request is built from templates (`{input.year}`, `{city.code}`…).
public struct BackendRequestTemplate: Sendable {
    /// The body encodings backends speak.
    public enum BodyFormat: String, Sendable, CaseIterable {
        case json, form, xml, multipart
    }

    /// A file part of a `multipart` request (`files`): a document that arrives base64 in the
    /// call's JSON input and is sent to the backend as bytes.
    public struct FilePart: Sendable {
        let content: CompiledTemplate
        let filename: CompiledTemplate
        /// The part's media type; a type the gateway knows the signature of is checked.
        public var contentType: String
        /// The largest decoded document (bytes).
        public var maxBytes: Int
    }

    public var method: String
    public var path: String {
        didSet { replan() }
    }
    public var query: [(String, String)] {
        didSet { replan() }
    }
    public var headers: [(String, String)] {
        didSet { replan() }
    }
    public var bodyFormat: BodyFormat?
    /// Body fields (name → template); for XML, the element names under `xmlRoot`.
    public var body: [(String, String)] {
        didSet { replan() }
    }
    /// The XML root element (and optional SOAP operation) for `xml` bodies.
    public var xmlRoot: String?
    /// Envelope, namespaces and WS-Security of `xml` bodies.
    public var xml = XMLRequestSettings() {
        didSet { secretNames = plan.secretNames.union(xml.secretNames) }
    }
    /// File parts of a `multipart` body, by part name, in order.
    public var files: [(name: String, part: FilePart)] = []
    /// The character set the backend speaks (`charset`): the body is converted to it, and an
    /// answer that names none is read in it. Default UTF-8.
    public var charset = "UTF-8"
    /// The templates above compiled for the call path.
    private(set) var plan: RequestPlan

    /// Creates a template.
    public init(
        method: String, path: String, query: [(String, String)], headers: [(String, String)],
        bodyFormat: BodyFormat?, body: [(String, String)], xmlRoot: String?
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.bodyFormat = bodyFormat
        self.body = body
        self.xmlRoot = xmlRoot
        self.plan = RequestPlan(path: path, query: query, headers: headers, body: body)
        self.secretNames = plan.secretNames
    }

    /// The city credentials this request names (`{secret.<name>}` in headers, query and the
    /// WS-Security header).
    /// Computed when the templates change, not per call.
    public private(set) var secretNames: Set<String> = []

    private mutating func replan() {
        plan = RequestPlan(path: path, query: query, headers: headers, body: body)
        secretNames = plan.secretNames.union(xml.secretNames)
    }
}

/// How a backend answer becomes the partner's answer.
public struct ResponseMapping: Sendable {
    /// Output field → source path in the backend's JSON (`$.data.amount`).
    public var fields: [(String, String)] {
        didSet { replan() }
    }
    /// Output field → constant text.
    public var constants: [(String, String)] {
        didSet { replan() }
    }
    /// Output fields with a type, transforms or shape of their own.
    var recipes: [(String, FieldRecipe)] = [] {
        didSet { replan() }
    }
    /// Backend status code → problem slug.
    public var errors: [Int: String]
    /// SOAP faults → problems (`faults`); an unmapped fault is 502 `backend-fault`.
    public var faults = FaultMapping()
    /// The charset an answer that names none is read in (the operation's `request.charset`).
    public var charset = "UTF-8"
    /// Binary documents (电子证照: PDF, OFD, images) passed through as they are (`document`).
    public var document: DocumentAnswer?
    /// Every output field name, typed or not (the service guide lists them).
    public var fieldNames: [String] { (fields.map(\.0) + recipes.map(\.0) + constants.map(\.0)).sorted() }
    /// The two lists above compiled for the call path.
    private(set) var plan: ResponsePlan

    /// Creates a mapping.
    public init(fields: [(String, String)], constants: [(String, String)], errors: [Int: String]) {
        self.fields = fields
        self.constants = constants
        self.errors = errors
        self.plan = ResponsePlan(fields: fields, constants: constants)
    }

    private mutating func replan() { plan = ResponsePlan(fields: fields, constants: constants, recipes: recipes) }
}

/// An operation that answers a document (`response.document`): the content types it may pass
/// through and the largest it may be. The bytes must look like their type (a PDF starts with
/// `%PDF-`), so a backend cannot hand partners HTML or a script under a document's name.
public struct DocumentAnswer: Sendable, Equatable {
    /// Media types (lower case, no parameters).
    public var types: Set<String>
    /// The largest document passed through.
    public var maxBytes: Int

    /// The media types the gateway knows the signature of; others are refused at load.
    static let signatures: [String: [[UInt8]]] = [
        "application/pdf": [Array("%PDF-".utf8)],
        // OFD (GB/T 33190) is a ZIP container.
        "application/ofd": [[0x50, 0x4B, 0x03, 0x04]],
        "image/png": [[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]],
        "image/jpeg": [[0xFF, 0xD8, 0xFF]],
        "image/gif": [Array("GIF87a".utf8), Array("GIF89a".utf8)],
        "application/zip": [[0x50, 0x4B, 0x03, 0x04]],
    ]

    /// Whether `bytes` start like a document of `type`.
    static func looksLike(_ type: String, _ bytes: [UInt8]) -> Bool {
        (signatures[type] ?? []).contains { bytes.starts(with: $0) }
    }
}

/// SOAP faults the manifest maps to problems of its choosing, with a safe message of its own
/// (the backend's `faultstring` is never passed on: it may name the citizen):
///
/// ```json
/// "faults": {"codePath": "$.detail.ErrorCode",
///            "map": {"GJJ-404": {"problem": "account-not-found", "status": 404,
///                                "message": "没有这个公积金账户。No such provident fund account."},
///                    "Client": {"problem": "request-refused", "status": 422, "message": "…"}}}
/// ```
///
/// The code looked up is the one at `codePath` inside the Fault element (SOAP 1.1 `detail`, 1.2
/// `Detail`), then the fault code's local name (`soap:Client` → `Client`; 1.2 `Code/Value` and
/// its `Subcode`), then the whole fault code.
public struct FaultMapping: Sendable {
    /// One mapped fault.
    public struct Entry: Sendable, Equatable {
        public var problem: String
        public var status: Int
        public var message: String
    }

    var codePath: [ResponsePlan.Step]?
    public var entries: [String: Entry] = [:]
}
