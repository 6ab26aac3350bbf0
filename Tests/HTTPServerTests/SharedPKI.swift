import TestSupport

/// One throwaway PKI for the suites that only need a server certificate (made once per run).
enum SharedPKI {
    private static let made = Task { try await TestPKI() }

    /// The PKI, made on first use.
    static var value: TestPKI {
        get async throws { try await made.value }
    }
}
