import Logging

/// Comments and notes sealed under `dataEncryption` (the cipher in force at each write, so a
/// reload that rotates keys takes effect at once), for both case stores.
struct CaseSealing: Sendable {
    /// Why a value could not be sealed.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let cipher: @Sendable () -> DataCipher?

    /// `text` sealed for the row `context` when a cipher is configured.
    func seal(_ text: String?, context: String) throws(Failure) -> String? {
        guard let text else { return nil }
        guard let cipher = cipher() else { return text }
        do { return try cipher.seal(text, context: context) } catch {
            throw Failure(description: "the value could not be sealed")
        }
    }

    /// A stored value opened (nil, and logged, when it does not open).
    func open(_ stored: String?, context: String) -> String? {
        guard let stored else { return nil }
        do { return try DataCipher.open(stored, context: context, with: cipher()) } catch {
            Log.error("a stored value does not open", ["context": context, "reason": error.description])
            return nil
        }
    }
}
