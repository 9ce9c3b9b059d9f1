//! How the harness prints tokens and values in failure messages and steps: every field by name,
//! long values shortened, control characters escaped. The values printed are the harness's own
//! synthetic test values, never a user's tokens.

use tokenstore_core::{Field, Token};

/// `{id:"1", user_name:"alice", refresh_token:"r1"}`, with raw empty strings shown as `""`.
pub fn token(t: &Token) -> String {
    let fields: Vec<String> = Field::ALL
        .into_iter()
        .filter_map(|f| t.raw(f).map(|v| format!("{}:{}", f.name(), value(v))))
        .collect();
    format!("{{{}}}", fields.join(", "))
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

/// Whether any field holds an empty string rather than being absent.
pub fn has_empty_value(t: &Token) -> Option<Field> {
    Field::ALL.into_iter().find(|&f| t.raw(f) == Some(""))
}
