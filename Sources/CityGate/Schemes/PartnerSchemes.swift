/// The registry of partner schemes: the one list a new scheme is added to. Loading, the
/// `unknown scheme` message, the registry tests and the verifier fuzzer all read it.
public enum PartnerSchemes {
    /// Every scheme, in the order the docs list them.
    public static let all: [any PartnerScheme.Type] = [
        StandardWebhooksScheme.self,
        WeChatScheme.self,
        WeChatPayScheme.self,
        AlipayScheme.self,
        GenericHMACScheme.self,
        SM2SM3Scheme.self,
    ]

    /// The scheme partner files call `name`.
    public static func named(_ name: String) -> (any PartnerScheme.Type)? {
        all.first { $0.name == name }
    }

    /// The names, comma-separated, for messages.
    static var names: String { all.map { $0.name }.joined(separator: ", ") }
}
