import Store

/// Verifies a partner's request and remembers what it signed, so the same request is never
/// accepted twice.
///
/// ```
///   SignedRequest ─► scheme verifier (pure) ─► ReplayStore.record(partner, replayKey)
///                                                 ├► first use  ─► .fresh
///                                                 └► seen       ─► .duplicate
/// ```
///
/// What a duplicate means is the caller's: a synchronous call refuses it (`replayed`), an event
/// endpoint acknowledges it again without processing it twice.
public struct PartnerAuthenticator: Sendable {
    /// The outcome of a verified request.
    public enum Outcome: Sendable, Equatable {
        /// Never seen before: process it.
        case fresh(VerifiedRequest)
        /// Already seen within its lifetime.
        case duplicate(VerifiedRequest)
    }

    /// Why a request was not accepted.
    public enum Failure: Error, Sendable {
        /// The partner's proof does not hold.
        case verification(VerificationFailure)
        /// The replay store could not record it: the request must be refused (503), never
        /// accepted unrecorded.
        case storage(SQLiteError)
        /// The shared replay window (Redis) is unreachable: refused (503 `state-unavailable`).
        case stateUnavailable
    }

    /// The partner.
    public let partner: PartnerConfiguration
    private let verifier: any PartnerVerifier
    private let replayStore: ReplayStore

    /// How long a nonce is remembered: the scheme's rule (``PartnerScheme/replayLifetime(window:)``).
    public var replayLifetime: Int64 { partner.replayLifetime }

    /// Creates an authenticator for one partner.
    public init(partner: PartnerConfiguration, replayStore: ReplayStore) {
        self.partner = partner
        self.verifier = partner.makeVerifier()
        self.replayStore = replayStore
    }

    /// Verifies and records `request` (on an event loop, in the loop turn's replay commit).
    public func authenticate(_ request: SignedRequest, now: Int64) async throws(Failure) -> Outcome {
        let verified: VerifiedRequest
        do {
            verified = try verifier.verify(request, now: now)
        } catch {
            throw .verification(error)
        }
        do {
            let first = try await replayStore.record(
                scope: partner.id, key: verified.replayKey, now: now, lifetime: replayLifetime)
            return first ? .fresh(verified) : .duplicate(verified)
        } catch {
            switch error {
            case .store(let failure): throw .storage(failure)
            case .sharedStateUnavailable: throw .stateUnavailable
            }
        }
    }

    /// Verifies signature and timestamp only. Events de-duplicate in the inbox on their event id,
    /// durably and together with storing them, so they skip the replay store.
    public func verifyOnly(_ request: SignedRequest, now: Int64) throws(VerificationFailure) -> VerifiedRequest {
        try verifier.verify(request, now: now)
    }
}
