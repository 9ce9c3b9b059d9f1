//! How the harness prints tokens and values in failure messages and steps: every field by name,
//! long values shortened, control characters escaped, and secrets (client secret, access, refresh
//! and grant tokens) redacted to a fingerprint unless [`show_secrets`] was called: a store under
//! test may hold real tokens, and reports end up in CI logs.

use std::sync::atomic::{AtomicBool, Ordering};
use tokenstore_core::{Field, Token};

static SHOW_SECRETS: AtomicBool = AtomicBool::new(false);

/// Prints secret values in full from now on (`--show-secrets`).
pub fn show_secrets() {
    SHOW_SECRETS.store(true, Ordering::Relaxed);
}

/// `{id:"1", user_name:"alice", refresh_token:<secret 3f2a>}`, with raw empty strings shown as
/// `""`. Equal secrets get equal fingerprints, so a message still tells which values differ.
pub fn token(t: &Token) -> String {
    let fields: Vec<String> = Field::ALL
        .into_iter()
        .filter_map(|f| {
            let v = t.raw(f)?;
            Some(format!("{}:{}", f.name(), field_value(f, v)))
        })
        .collect();
    format!("{{{}}}", fields.join(", "))
}

/// `<secret 3f2a>`: 16 bits of FNV-1a, enough to tell values apart, too few to recover one.
fn fingerprint(v: &str) -> String {
    let hash = v.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("<secret {:04x}>", (hash >> 16) ^ (hash & 0xffff))
}

/// A language's null or undefined written out as text, as a store that formats every value
/// with `str()` or a template writes an absent field: shown as it is even in a secret field,
/// since it is no secret and a fingerprint would hide the fault.
const NULL_TEXTS: [&str; 6] = [
    "None",
    "null",
    "NULL",
    "undefined",
    "nil",
    "[object Object]",
];

/// A value of `field`, redacted when the field is secret (unless it is one of [`NULL_TEXTS`]).
pub fn field_value(field: Field, v: &str) -> String {
    if field.is_secret()
        && !SHOW_SECRETS.load(Ordering::Relaxed)
        && !v.is_empty()
        && !NULL_TEXTS.contains(&v)
    {
        fingerprint(v)
    } else {
        value(v)
    }
}

/// An optional token, as `None` or `Some({..})`.
pub fn opt_token(t: &Option<Token>) -> String {
    match t {
        None => "None".into(),
        Some(t) => format!("Some({})", token(t)),
    }
}

/// A value quoted and escaped, shortened past 40 characters with its length kept.
pub fn value(v: &str) -> String {
    const SHOWN: usize = 40;
    let count = v.chars().count();
    if count <= SHOWN {
        format!("{v:?}")
    } else {
        let head: String = v.chars().take(SHOWN).collect();
        format!("{head:?}…({} bytes)", v.len())
    }
}

/// A message a store or a check wrote, cut past [`MESSAGE_CHARS`] characters with its length
/// shown: a store's error that echoes a 64 KiB value stays a line in the report.
pub fn message(m: &str) -> String {
    let count = m.chars().count();
    if count <= MESSAGE_CHARS {
        return m.to_owned();
    }
    let head: String = m.chars().take(MESSAGE_CHARS).collect();
    format!("{head}…({} bytes in all)", m.len())
}

/// The longest message shown whole, in characters.
pub const MESSAGE_CHARS: usize = 400;

/// Whether any field holds an empty string rather than being absent.
pub fn has_empty_value(t: &Token) -> Option<Field> {
    Field::ALL.into_iter().find(|&f| t.raw(f) == Some(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_null_written_as_text_shows_in_a_secret_field_and_a_secret_does_not() {
        assert_eq!(field_value(Field::RefreshToken, "None"), "\"None\"");
        assert_eq!(
            field_value(Field::AccessToken, "undefined"),
            "\"undefined\""
        );
        let secret = field_value(Field::RefreshToken, "1000.abcdef");
        assert!(secret.starts_with("<secret "), "{secret}");
        assert_eq!(field_value(Field::UserName, "None"), "\"None\"");
    }
}
