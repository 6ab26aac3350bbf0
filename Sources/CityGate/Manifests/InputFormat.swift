import Foundation

/// The string formats government services need.
public enum InputFormat: String, Sendable, CaseIterable {
    /// A calendar date, `YYYY-MM-DD`.
    case date
    /// A mainland China mobile number: 11 digits starting with 13–19.
    case phoneCN = "phone-cn"
    /// An 18-character resident identity number (GB 11643-1999): 6-digit region, birth date,
    /// 3-digit sequence, and a check character (ISO 7064 MOD 11-2; `X` stands for 10).
    case residentId = "resident-id"

    /// What a value must be, for violation messages (never quoting the value).
    public var requirement: String {
        switch self {
        case .date: "must be a calendar date written YYYY-MM-DD"
        case .phoneCN: "must be a mainland China mobile number (11 digits starting with 13-19)"
        case .residentId: "must be a valid 18-character resident ID number (GB 11643 check digit)"
        }
    }

    /// Whether `text` has this format.
    public func accepts(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        switch self {
        case .date:
            guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return false }
            guard let year = Self.number(bytes[0..<4]), let month = Self.number(bytes[5..<7]),
                let day = Self.number(bytes[8..<10])
            else { return false }
            return Self.isValidDate(year: year, month: month, day: day)
        case .phoneCN:
            return bytes.count == 11 && bytes.allSatisfy(Self.isDigit) && bytes[0] == UInt8(ascii: "1")
                && bytes[1] >= UInt8(ascii: "3")
        case .residentId:
            return Self.isResidentId(bytes)
        }
    }

    static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    static let checkCharacters = Array("10X98765432".utf8)

    /// The check character for the first 17 digits (GB 11643, ISO 7064 MOD 11-2).
    public static func checkCharacter(forFirst17 digits: String) -> Character? {
        let bytes = Array(digits.utf8)
        guard bytes.count == 17, bytes.allSatisfy(isDigit) else { return nil }
        let sum = zip(bytes, weights).reduce(0) { $0 + Int($1.0 - UInt8(ascii: "0")) * $1.1 }
        return Character(Unicode.Scalar(checkCharacters[sum % 11]))
    }

    static func isResidentId(_ bytes: [UInt8]) -> Bool {
        guard bytes.count == 18, bytes[0..<17].allSatisfy(isDigit), bytes[0] != UInt8(ascii: "0") else { return false }
        guard let year = number(bytes[6..<10]), let month = number(bytes[10..<12]), let day = number(bytes[12..<14]),
            year >= 1900, isValidDate(year: year, month: month, day: day)
        else { return false }
        let last = bytes[17] == UInt8(ascii: "x") ? UInt8(ascii: "X") : bytes[17]
        guard let expected = checkCharacter(forFirst17: String(decoding: bytes[0..<17], as: UTF8.self)) else {
            return false
        }
        return Character(Unicode.Scalar(last)) == expected
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    static func number(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard bytes.allSatisfy(isDigit) else { return nil }
        return bytes.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }

    static func isValidDate(year: Int, month: Int, day: Int) -> Bool {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= days[month - 1]
    }
}
