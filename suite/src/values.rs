//! Values chosen to break stores: the ones that CSV, SQL, key-value and JSON layers tend to
//! quote, trim, re-case, truncate, re-encode or parse as numbers, booleans and times. A conforming store returns each byte for byte or
//! refuses it with InvalidToken naming the field.

/// Every hostile value, each distinct.
pub fn hostile() -> &'static [String] {
    static VALUES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    VALUES.get_or_init(build)
}

fn build() -> Vec<String> {
    let mut values: Vec<String> = [
        "comma,inside",
        "say \"hi\"",
        "\"",
        "line one\nline two",
        "crlf\r\nend",
        "back\\slash\\",
        "NULL",
        "null",
        "None",
        "\\N",
        "user_name",
        "id",
        "'; DROP TABLE oauthtoken; --",
        "日本語 ✓ 🎉 ünïcödé",
        "  padded both  ",
        " leading",
        "trailing ",
        "0042",
        "tab\there",
        "=SUM(A1)",
        "%s%n{0}$1",
        "nul\0byte",
        "*",
        "__tokenstore__",
        // Numbers a store might parse: past 32-bit, past a double's exact integers, past 64-bit,
        // with a sign, an exponent, a base or a trailing zero.
        "2147483648",
        "9007199254740993",
        "9223372036854775808",
        "-0",
        "+1",
        "1e3",
        "0x1F",
        "1.50",
        // Booleans and times a store might reinterpret.
        "true",
        "2024-03-10T02:30:00",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    values.push(format!("{}|end", "x".repeat(4096)));
    values.push("é".repeat(3000));
    values
}
