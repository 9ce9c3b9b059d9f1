//! Values chosen to break stores: the ones that CSV, SQL, key-value and JSON layers tend to
//! quote, trim, re-case, truncate or re-encode. A conforming store returns each byte for byte or
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
    ]
    .into_iter()
    .map(String::from)
    .collect();
    values.push(format!("{}|end", "x".repeat(4096)));
    values.push("é".repeat(3000));
    values
}
