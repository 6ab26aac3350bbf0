/// The stages a backend reports a case through (docs/cases.md, "Stages"): the steps every
/// government service shares, kept small so partners can show them without a per-service table.
public enum ProgressStage: String, Sendable, CaseIterable {
    /// 受理: the application is accepted for processing.
    case accepted
    /// 补正: more documents or corrections are needed from the applicant.
    case supplement
    /// 审查: under review.
    case review
    /// 办结: finished (the applicant is invited to rate the case).
    case finished
    /// 不予受理: refused.
    case refused

    /// The Chinese name partners show.
    public var zh: String {
        switch self {
        case .accepted: "受理"
        case .supplement: "补正"
        case .review: "审查"
        case .finished: "办结"
        case .refused: "不予受理"
        }
    }

    /// Whether the case is over at this stage: no later stage may follow it.
    public var closes: Bool { self == .finished || self == .refused }

    /// The stage named by its English slug or its Chinese name.
    public init?(named text: String) {
        guard let stage = Self(rawValue: text) ?? Self.allCases.first(where: { $0.zh == text }) else { return nil }
        self = stage
    }
}

/// The five levels of a citizen's rating (好差评, 国办发〔2019〕51号), best first.
public enum RatingLevel: Int, Sendable, CaseIterable {
    case verySatisfied = 1
    case satisfied = 2
    case fair = 3
    case dissatisfied = 4
    case veryDissatisfied = 5

    /// The slug partners send.
    public var slug: String {
        switch self {
        case .verySatisfied: "very-satisfied"
        case .satisfied: "satisfied"
        case .fair: "fair"
        case .dissatisfied: "dissatisfied"
        case .veryDissatisfied: "very-dissatisfied"
        }
    }

    /// The Chinese name.
    public var zh: String {
        switch self {
        case .verySatisfied: "非常满意"
        case .satisfied: "满意"
        case .fair: "基本满意"
        case .dissatisfied: "不满意"
        case .veryDissatisfied: "非常不满意"
        }
    }

    /// The two lowest levels: a poor rating opens a follow-up (差评整改).
    public var isPoor: Bool { rawValue >= 4 }

    /// The level named by its slug or its Chinese name.
    public init?(named text: String) {
        guard let level = Self.allCases.first(where: { $0.slug == text || $0.zh == text }) else { return nil }
        self = level
    }
}
