import HTTPCore
import Testing

/// ID-card and mobile numbers are masked in log text; everything else is left alone.
struct PersonalDataMaskTests {
    @Test(arguments: [
        ("/api/v2/accounts/330106199001011234/balance", "/api/v2/accounts/[id-number]/balance"),
        ("id 11010519491231002X end", "id [id-number] end"),
        ("id 11010519491231002x", "id [id-number]"),
        ("call 13800138000 now", "call [phone] now"),
        ("tel:+8613800138000", "tel:+86[phone]"),
        ("13800138000,330106199001011234", "[phone],[id-number]"),
        // Left alone: other lengths, numbers inside words, numbers that cannot be phones.
        ("case 330100-2026-000042", "case 330100-2026-000042"),
        ("ts 1796167315956", "ts 1796167315956"),
        ("12800138000", "12800138000"),
        ("3301061990010112345", "3301061990010112345"),
        ("abc13800138000", "abc13800138000"),
        ("11010519491231002XY", "11010519491231002XY"),
        ("short 123", "short 123"),
        ("", ""),
    ])
    func masks(input: String, expected: String) {
        #expect(PersonalDataMask.mask(input) == expected)
    }
}
