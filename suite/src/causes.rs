//! Likely causes: failures whose evidence matches a well-known mistake, the ones public bug
//! reports about token stores show again and again, get one more line in the report saying the
//! likely cause and what to do. The catalogue is [`CAUSES`]; each entry reads a failed rule and
//! its message (the `call(args) = got, want expected` text, values quoted as [`crate::show`]
//! quotes them) and fires only on its own symptom.

/// One well-known mistake.
pub struct Cause {
    /// A short name, stable for tests and reports.
    pub name: &'static str,
    /// Whether a failure of `rule` with `message` shows this mistake's symptom.
    pub matches: fn(rule: &str, message: &str) -> bool,
    /// The likely cause and what to do about it, one sentence.
    pub advice: &'static str,
}

/// The words a find's message carries when it answered a stored token the SDK's key does not
/// designate, naming the fields the store must have looked it up by (`judge`'s find).
pub const LOOKED_UP_BY: &str = ": the store looked it up by ";

/// The catalogue, most specific first.
pub const CAUSES: &[Cause] = &[
    Cause {
        name: "collation",
        matches: collation,
        advice: "likely cause: the database compares keys with its collation, which ignores case or trailing spaces (MySQL's default _ci and PAD SPACE collations); make the key and id columns binary without padding (VARBINARY, MySQL 8's utf8mb4_0900_bin, MariaDB's utf8mb4_nopad_bin, PostgreSQL's COLLATE \"C\") or compare the values in code",
    },
    Cause {
        name: "max-over-text-ids",
        matches: max_over_text_ids,
        advice: "likely cause: a fresh id computed as the largest id plus one over a text column, where \"9\" sorts after \"10\", so the 11th token collides; take ids from a counter or sequence, or compare ids as numbers",
    },
    Cause {
        name: "newline-translation",
        matches: newline_translation,
        advice: "likely cause: the file is read or written in text mode, which turns \\r\\n into \\n; open it with newline='' (Python) or in binary mode",
    },
    Cause {
        name: "sql-splicing",
        matches: sql_splicing,
        advice: "likely cause: values are spliced into the SQL text, so a quote breaks the statement and a backslash is taken as an escape; pass them as query parameters (placeholders) instead",
    },
    Cause {
        name: "matched-another-field",
        matches: matched_another_field,
        advice: "likely cause: find_token looks tokens up by a field the SDK's key does not use for this probe; the SDK's key is one field only: the user name when the probe has one, else the access token when it has neither client id nor client secret, else (with both) the grant token, else the refresh token; look up by that field and no other",
    },
    Cause {
        name: "first-row-without-key",
        matches: first_row_without_key,
        advice: "likely cause: the query for a probe with no usable key has no condition and returns its first row (LIMIT 1 with no WHERE); return None before querying when the probe has no key",
    },
];

/// The advice of the first cause whose symptom the failure shows.
pub fn likely_cause(rule: &str, message: &str) -> Option<&'static str> {
    CAUSES
        .iter()
        .find(|c| (c.matches)(rule, message))
        .map(|c| c.advice)
}

/// Whether a failure's message shows a read answering nothing where the judge wanted a token:
/// a listing missing a saved token, a find answering None, a listing answering `[]`. The likely
/// cause of those is the run's, when no read of it answered a token
/// ([`crate::story::Census::reads_answer_nothing`]).
pub fn shows_a_read_answering_nothing(message: &str) -> bool {
    [": missing {", "= None, want {", "= [], want"]
        .iter()
        .any(|shape| message.contains(shape))
}

/// The quoted strings of a message, unescaped enough to compare (`"a\"b"` is `a"b`).
fn quoted(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut value = String::new();
        let mut closed = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some('r') => value.push('\r'),
                    Some('t') => value.push('\t'),
                    Some(other) => value.push(other),
                    None => break,
                },
                '"' => {
                    closed = true;
                    break;
                }
                c => value.push(c),
            }
        }
        if closed {
            out.push(value);
        }
    }
    out
}

/// The message split at its last ", want ": what came back, and what was wanted.
fn got_and_want(message: &str) -> Option<(&str, &str)> {
    let at = message.rfind(", want ")?;
    Some((&message[..at], &message[at + ", want ".len()..]))
}

/// Two different values of the message that are equal ignoring case and trailing spaces.
fn collation(rule: &str, message: &str) -> bool {
    // A store that keeps the probe's fields, as it must, shows only the probe's spelling: the
    // rule of exact matching failing on a hit is the symptom itself.
    if rule == "find.exact-match" && message.contains(") = Some(") {
        return true;
    }
    const RULES: &[&str] = &[
        "find-by-id.miss-not-found",
        "delete.removes-exactly",
        "save.key-selects",
        "find.miss-none",
        "find.by-user-name",
    ];
    if !RULES.contains(&rule) {
        return false;
    }
    let values = quoted(message);
    let loose = |v: &str| v.trim_end().to_lowercase();
    values.iter().enumerate().any(|(i, a)| {
        values[i + 1..]
            .iter()
            .any(|b| a != b && !a.is_empty() && loose(a) == loose(b))
    })
}

/// A fresh id that collides with id "10" (or "100"): the first id past "9" in text order.
fn max_over_text_ids(rule: &str, message: &str) -> bool {
    rule == "save.fresh-id-unique"
        && quoted(message)
            .iter()
            .any(|v| ["10", "100", "1000", "fresh-10", "fresh-100"].contains(&v.as_str()))
}

/// A wanted value with `\r\n` that came back with `\n` alone.
fn newline_translation(rule: &str, message: &str) -> bool {
    if !rule.starts_with("token.") && rule != "limits.declared" {
        return false;
    }
    let Some((got, want)) = got_and_want(message) else {
        return false;
    };
    let wanted_crlf = quoted(want).iter().any(|v| v.contains("\r\n"));
    let got_lf_only = quoted(got)
        .iter()
        .any(|v| v.contains('\n') && !v.contains("\r\n"));
    wanted_crlf && got_lf_only
}

/// A database syntax error on a value with a quote, or a backslash lost from a value.
fn sql_splicing(_rule: &str, message: &str) -> bool {
    let lower = message.to_lowercase();
    let syntax = ["syntax", "unrecognized token", "unterminated", "near \""]
        .iter()
        .any(|s| lower.contains(s));
    // A second statement where one was sent: a value ended the first one.
    if (syntax && message.contains('\'')) || lower.contains("one statement at a time") {
        return true;
    }
    let Some((got, want)) = got_and_want(message) else {
        return false;
    };
    let got = quoted(got);
    quoted(want)
        .iter()
        .any(|w| w.contains('\\') && got.iter().any(|g| g != w && *g == w.replace('\\', "")))
}

/// A probe with no usable key that found a row.
fn first_row_without_key(rule: &str, message: &str) -> bool {
    rule == "find.no-key-none" && message.contains(") = Some(") && !message.contains(LOOKED_UP_BY)
}

fn matched_another_field(rule: &str, message: &str) -> bool {
    rule.starts_with("find.") && message.contains(LOOKED_UP_BY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cause(rule: &str, message: &str) -> Option<&'static str> {
        CAUSES
            .iter()
            .find(|c| (c.matches)(rule, message))
            .map(|c| c.name)
    }

    #[test]
    fn collation_fires_on_case_and_trailing_spaces_only() {
        let hit = r#"keys_compare_exactly: find_token({user_name:"Alice"}) = Some({id:"1", user_name:"alice"}), want None"#;
        assert_eq!(cause("find.exact-match", hit), Some("collation"));
        let padded = r#"find_token_by_id("1 ") = {id:"1", user_name:"u"}, want Err(NotFound)"#;
        assert_eq!(
            cause("find-by-id.miss-not-found", padded),
            Some("collation")
        );
        let other =
            r#"find_token({user_name:"bob"}) = Some({id:"1", user_name:"alice"}), want None"#;
        assert_eq!(cause("find.miss-none", other), None);
        assert_eq!(cause("token.roundtrip", hit), None);
    }

    #[test]
    fn max_over_text_ids_fires_on_a_collision_at_ten_only() {
        let hit = r#"save_token({user_name:"u10"}) = Ok, id "10", which a stored token already has, want an insert with a fresh id"#;
        assert_eq!(
            cause("save.fresh-id-unique", hit),
            Some("max-over-text-ids")
        );
        let other =
            r#"save_token({user_name:"u3"}) = Ok, id "3", which a stored token already has"#;
        assert_eq!(cause("save.fresh-id-unique", other), None);
        assert_eq!(cause("save.insert", hit), None);
    }

    #[test]
    fn newline_translation_fires_on_crlf_read_back_as_lf_only() {
        let hit = r#"find_token_by_id("1") = {id:"1", user_name:"a\nb"}, want {id:"1", user_name:"a\r\nb"}"#;
        assert_eq!(cause("token.roundtrip", hit), Some("newline-translation"));
        let other = r#"find_token_by_id("1") = {id:"1", user_name:"ab"}, want {id:"1", user_name:"a\r\nb"}"#;
        assert_eq!(cause("token.roundtrip", other), None);
    }

    #[test]
    fn sql_splicing_fires_on_a_syntax_error_or_a_lost_backslash() {
        let syntax = r#"save_token({user_name:"o'brien"}) = Err(backend error: the store raised: OperationalError: near "brien": syntax error), want Ok"#;
        assert_eq!(cause("token.roundtrip", syntax), Some("sql-splicing"));
        let backslash =
            r#"find_token_by_id("1") = {id:"1", user_name:"ab"}, want {id:"1", user_name:"a\\b"}"#;
        assert_eq!(cause("token.roundtrip", backslash), Some("sql-splicing"));
        let other =
            r#"find_token_by_id("1") = {id:"1", user_name:"ab"}, want {id:"1", user_name:"abc"}"#;
        assert_eq!(cause("token.roundtrip", other), None);
    }

    #[test]
    fn a_find_that_looked_up_by_another_field_is_told_so_not_taken_for_a_first_row() {
        let looked = r#"find_token({refresh_token:<secret 3332>}) = Some({id:"3", refresh_token:<secret 3332>}), want None: the store looked it up by refresh_token (the stored token with id "3" holds the probe's), where the SDK's key takes no field of this probe"#;
        assert_eq!(
            cause("find.no-key-none", looked),
            Some("matched-another-field")
        );
        assert_eq!(
            cause("find.by-access-token", looked),
            Some("matched-another-field")
        );
        let plain =
            r#"find_token({access_token:<secret 1>}) = Some({id:"2"}), want Some({id:"1"})"#;
        assert_eq!(cause("find.by-access-token", plain), None);
    }

    #[test]
    fn first_row_without_key_fires_on_a_hit_for_a_keyless_probe_only() {
        let hit = r#"find_token({client_id:"c"}) = Some({id:"1", user_name:"alice"}), want None"#;
        assert_eq!(
            cause("find.no-key-none", hit),
            Some("first-row-without-key")
        );
        let raised = r#"find_token({client_id:"c"}) = Err(backend error), want Ok"#;
        assert_eq!(cause("find.no-key-none", raised), None);
    }

    #[test]
    fn causes_fire_on_the_evidence_real_stores_give() {
        // A correct hit keeps the probe's spelling, so only the probe's "Alice" shows.
        let kept = r#"keys_compare_exactly: find_token({user_name:"Alice"}) = Some({id:"1", user_name:"Alice"}), want None"#;
        assert_eq!(cause("find.exact-match", kept), Some("collation"));
        let raised = r#"find_token({user_name:"Alice"}) = Err(backend error), want Ok"#;
        assert_eq!(cause("find.exact-match", raised), None);
        // A primary key refuses the colliding 11th insert instead of storing it.
        let eleventh = r#"save_token({user_name:"fresh-10", refresh_token:<secret aafe>}) = Err(backend error: IntegrityError: UNIQUE constraint failed: tokens.id), want Ok"#;
        assert_eq!(
            cause("save.fresh-id-unique", eleventh),
            Some("max-over-text-ids")
        );
        let third =
            r#"save_token({user_name:"fresh-2"}) = Err(backend error: IntegrityError), want Ok"#;
        assert_eq!(cause("save.fresh-id-unique", third), None);
        // Python's sqlite3 refuses the statement a spliced value made into two.
        let two = r#"save_token({refresh_token:<secret 1f2e>}) = Err(backend error: the store raised: ProgrammingError: You can only execute one statement at a time.), want Ok"#;
        assert_eq!(cause("save.key-selects", two), Some("sql-splicing"));
    }
}
