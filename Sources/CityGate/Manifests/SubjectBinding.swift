/// One input field that must equal an identity value of the token's citizen
/// (`"bind": {"applicant.idNumber": "subject.raw"}` on an operation).
///
/// Without it, an operation that takes an ID number as input lets one citizen's token read
/// another citizen's records (OWASP API1, broken object-level authorization): the token proves
/// who is asking, the input says about whom. A binding ties the two together. It is checked
/// after the token and before the backend is called; a mismatch names the field, never a value.
///
/// The identity is always the citizen the token stands for: for an agent station acting under a
/// delegation that is the represented citizen (`sub`), never the agent (`act`).
public struct SubjectBinding: Sendable, Equatable {
    /// Which identity value the field must equal.
    public enum Source: String, Sendable, CaseIterable {
        /// The citizen's own id as the partner asserted it (the resident id for real-name
        /// tokens); needs `"identity": "raw"` on the service, since only those keep it.
        case raw = "subject.raw"
        /// The citizen's pseudonym (the token's `sub`).
        case pseudonym = "subject.id"
    }

    /// The field as written in the manifest: member names joined by dots (`applicant.idNumber`).
    public let field: String
    /// The member names from the input object down to the field.
    let components: [String]
    /// The identity value it must equal.
    public let source: Source
    /// The field's declared format, which decides how both sides are normalised.
    let format: InputFormat?

    init(field: String, source: Source, format: InputFormat?) {
        self.field = field
        self.components = field.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        self.source = source
        self.format = format
    }

    /// The field's value in `input`, as text; nil when the field is absent (nothing is claimed
    /// about anybody then) or not a scalar.
    func value(in input: [String: JSONValue]) -> String? {
        var object = input
        for (index, name) in components.enumerated() {
            guard let member = object[name] else { return nil }
            if index == components.count - 1 {
                switch member {
                case .string(let text): return text
                case .number(let text): return text
                default: return nil
                }
            }
            guard case .object(let nested) = member else { return nil }
            object = nested
        }
        return nil
    }

    /// Whether `claimed` (from the input) and `identity` (from the token) name the same person,
    /// after the format's normalisation: a resident id's final `x` and `X` are one check
    /// character (GB 11643); other values compare exactly.
    func matches(claimed: String, identity: String) -> Bool {
        let left = normalised(claimed)
        let right = normalised(identity)
        // Constant-time over equal lengths: the comparison must not tell how much of an id matched.
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(left, right) { difference |= a ^ b }
        return difference == 0
    }

    private func normalised(_ text: String) -> [UInt8] {
        var bytes = Array(text.utf8)
        if format == .residentId, let last = bytes.last, last == UInt8(ascii: "x") {
            bytes[bytes.count - 1] = UInt8(ascii: "X")
        }
        return bytes
    }
}

/// Why an operation may take identity-shaped input without a binding
/// (`"bindingExempt": "reason"` for the whole operation, or `{"field": "reason"}` per field).
public enum BindingExemption: Sendable, Equatable {
    /// No exemption: every identity-shaped input field needs a binding.
    case none
    /// The whole operation, for the reason given.
    case operation(String)
    /// These fields (as written in `bind`, dotted), each for its reason.
    case fields([String: String])

    /// Whether `field` is exempt.
    func covers(_ field: String) -> Bool {
        switch self {
        case .none: false
        case .operation: true
        case .fields(let reasons): reasons[field] != nil
        }
    }
}
