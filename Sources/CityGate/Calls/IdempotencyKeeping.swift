/// Where the first outcome of each `Idempotency-Key` lives: ``IdempotencyStore`` (gateway.db)
/// for one instance, ``SharedIdempotencyStore`` (PostgreSQL) when instances share it, so a
/// retried application that lands on another instance is answered from the first outcome, not
/// sent to the backend again.
protocol IdempotencyKeeping: Sendable {
    /// Claims `key` for a call, or says why not. An in-flight claim older than `staleAfter`
    /// seconds is taken over (its gateway stopped before finishing).
    func begin(scope: String, key: String, fingerprint: String, now: Int64, staleAfter: Int64) async throws
        -> IdempotencyStore.Begin
    /// Stores the answer of a call that `begin` started.
    func complete(scope: String, key: String, status: Int, contentType: String, body: [UInt8], now: Int64)
        async throws
    /// Forgets a started call whose outcome is not to be replayed.
    func abandon(scope: String, key: String) async throws
}

extension IdempotencyStore: IdempotencyKeeping {}
