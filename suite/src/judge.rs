//! The one step function of the reference model: given the model's state, a call and the
//! store's answer, either the model could have given that answer (and moves on as the store
//! did), or the answer breaks a rule, named here. The sequential test, the linearizability
//! search, the replay of a failure and the concurrent tiers all judge answers with [`step`].
//!
//! Naming the rule is the part a reader of a report depends on, so it lives in one place:
//! a wrong answer is blamed on the most specific rule its evidence shows. A value the store
//! altered breaks `token.roundtrip` rather than the rule of the call; a hit that matches only
//! loosely breaks `find.exact-match`; a hit found through the refresh token when the grant
//! token matched nothing breaks `find.grant-refresh-fallback`; an empty string where a field is
//! absent breaks `token.absent-empty`; and so on, each case below with its reason.

use crate::call::{describe_op, Answer, Op};
use crate::model::{is_plain, Model, SaveExpectation};
use crate::show;
use tokenstore_core::{ErrorKind, Field, Token};

/// A wrong answer: the rule it breaks, and what was called, what came back and what was wanted,
/// in one line (`call(args) = got, want expected`, the shape [`crate::causes`] reads).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    pub rule: &'static str,
    pub message: String,
    /// What the store most likely did, beyond the call and the answer wanted, when the judge can
    /// tell (the end of `message` too): kept for a check that fails the same rule with its own
    /// words.
    pub why: Option<String>,
}

impl Broken {
    pub fn new(rule: &'static str, message: String) -> Self {
        Broken {
            rule,
            message,
            why: None,
        }
    }
}

/// What an explained answer leaves to check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Explained {
    /// The id of a token inserted with a fresh id (what [`crate::call::IdRef::Fresh`] counts).
    pub fresh: Option<String>,
    /// When the call may have changed the stored tokens: what a `get_tokens` right after it is
    /// called in a message, and the rule it breaks if it differs from the model.
    pub listing: Option<(&'static str, &'static str)>,
}

/// Judges `answer` to `op` against `model`; on success the model has taken the call's effect.
pub fn step(model: &mut Model, op: &Op, answer: &Answer) -> Result<Explained, Broken> {
    match op {
        Op::Save(token) => save(model, token, answer),
        Op::Find(probe) => find(model, probe, answer).map(|()| Explained::default()),
        Op::FindById(id) => find_by_id(model, id, answer).map(|()| Explained::default()),
        Op::Delete(id) => delete(model, id, answer),
        Op::GetTokens => match answer {
            Answer::Tokens(got) => listing(model, got, "get_tokens()", "get-tokens.exact")
                .map(|()| Explained::default()),
            other => Err(Broken::new(
                "get-tokens.exact",
                format!("get_tokens() = {}, want Ok", shown(other)),
            )),
        },
        Op::DeleteTokens => match answer {
            Answer::Done => {
                model.clear();
                Ok(Explained {
                    fresh: None,
                    listing: Some((
                        "get_tokens() after delete_tokens()",
                        "delete-tokens.empties",
                    )),
                })
            }
            other => Err(Broken::new(
                "delete-tokens.empties",
                format!("delete_tokens() = {}, want Ok", shown(other)),
            )),
        },
    }
}

fn shown(answer: &Answer) -> String {
    crate::call::describe_answer(answer)
}

fn save(model: &mut Model, token: &Token, answer: &Answer) -> Result<Explained, Broken> {
    let expected = model.expect_save(token);
    let call = describe_op(&Op::Save(token.clone()));
    let path_rule = match &expected {
        SaveExpectation::Update { by_id: true, .. } => "save.id-selects",
        SaveExpectation::Update { by_id: false, .. } => "save.key-selects",
        SaveExpectation::Insert(_) => "save.insert",
        SaveExpectation::Refused { rule, .. } => rule,
    };
    let unchanged = Explained {
        fresh: None,
        listing: Some((
            "get_tokens() after the refused save",
            "store.failed-call-unchanged",
        )),
    };
    let mut fresh = None;
    match (expected, answer) {
        // A value the store cannot hold may be refused whatever else the save would do.
        (_, Answer::Failed(f))
            if f.kind == ErrorKind::InvalidToken
                && f.field
                    .and_then(|field| token.get(field))
                    .is_some_and(|v| !is_plain(v)) =>
        {
            return Ok(unchanged)
        }
        (SaveExpectation::Refused { kind, .. }, Answer::Failed(f))
            if model.choices.refuses_as(f.kind, kind) =>
        {
            return Ok(unchanged)
        }
        (SaveExpectation::Refused { kind, rule, why }, Answer::Failed(f)) => {
            // A save naming an id no token has, refused as not found: the store refuses every
            // unstored id, which is an insert's matter (it keeps the caller's id), whatever else
            // this save should have been refused for.
            let unstored = token
                .get(Field::Id)
                .is_some_and(|id| model.get(id).is_none());
            let rule = if f.kind == ErrorKind::NotFound && unstored {
                "save.insert"
            } else {
                rule
            };
            return Err(Broken::new(
                rule,
                format!("{call} = Err({}), want Err({kind:?}): {why}", f.message),
            ));
        }
        (SaveExpectation::Refused { kind, rule, why }, Answer::Saved(id)) => {
            let sent = token
                .get(Field::Id)
                .filter(|sent| model.get(sent).is_some());
            let (rule, why) = match (sent, id) {
                (Some(sent), Some(got)) if sent != got => (
                    "save.id-selects",
                    format!(
                        "a stored id selects the token it names (id {})",
                        show::value(sent)
                    ),
                ),
                _ => (rule, why),
            };
            return Err(Broken::new(
                rule,
                format!("{call} = Ok (id {id:?}), want Err({kind:?}): {why}"),
            ));
        }
        (_, Answer::Failed(f)) if f.kind == ErrorKind::InvalidToken => {
            let rule = if f.field.is_some_and(|field| token.get(field).is_some()) {
                "token.roundtrip"
            } else {
                path_rule
            };
            return Err(Broken::new(
                rule,
                format!(
                    "{call} = Err({}), want Ok: the value is one every store must hold",
                    f.message
                ),
            ));
        }
        (_, Answer::Failed(f)) => {
            return Err(Broken::new(
                path_rule,
                format!("{call} = Err({}), want Ok", f.message),
            ))
        }
        (_, Answer::Saved(None)) => {
            return Err(Broken::new(
                "save.id-written-back",
                format!("{call} left the caller's token without an id"),
            ));
        }
        (SaveExpectation::Update { candidates, by_id }, Answer::Saved(Some(id))) => {
            if !candidates
                .iter()
                .any(|c| c.id.as_deref() == Some(id.as_str()))
            {
                let want: Vec<_> = candidates.iter().filter_map(|c| c.id.clone()).collect();
                let unchanged = candidates
                    .iter()
                    .any(|c| &token.clone().normalized().merged_over(c) == c);
                let rule = if unchanged && model.get(id).is_none() {
                    // A save that changes nothing stored a copy.
                    "save.idempotent"
                } else if by_id {
                    "save.id-selects"
                } else {
                    save_key_rule(model, token, model.get(id))
                };
                return Err(Broken::new(
                    rule,
                    format!(
                        "{call} wrote id {id:?}, want an update of the token with id {}",
                        want.join(" or ")
                    ),
                ));
            }
            model.apply_update(id, token);
        }
        (SaveExpectation::Insert(new), Answer::Saved(Some(id))) => {
            match new.id.as_deref() {
                Some(chosen) if chosen != id => {
                    return Err(Broken::new(
                        "save.insert",
                        format!("{call} stored id {id:?}, want the caller's id {chosen:?}"),
                    ));
                }
                Some(_) => {}
                None => {
                    if let Some(updated) = model.get(id) {
                        let rule = match save_key_rule(model, token, Some(updated)) {
                            "save.key-selects" => "save.fresh-id-unique",
                            rule => rule,
                        };
                        return Err(Broken::new(rule, format!("{call} = Ok, id {}, which a stored token already has, want an insert with a fresh id", show::value(id))));
                    }
                    fresh = Some(id.clone());
                }
            }
            model.apply_insert(id, &new);
        }
        (_, other) => {
            return Err(Broken::new(
                path_rule,
                format!("{call} = {}, want the answer of a save", shown(other)),
            ))
        }
    }
    let rule = match path_rule {
        "save.insert" => "save.insert",
        _ => "save.merge",
    };
    Ok(Explained {
        fresh,
        listing: Some(("get_tokens() after the save", rule)),
    })
}

fn find(model: &Model, probe: &Token, answer: &Answer) -> Result<(), Broken> {
    let answers = model.find(probe);
    let call = describe_op(&Op::Find(probe.clone()));
    let key_rule = key_rule(model, probe);
    let got = match answer {
        Answer::Found(got) => got,
        other => {
            return Err(Broken::new(
                key_rule,
                format!("{call} = {}, want Ok", shown(other)),
            ))
        }
    };
    if let Some(field) = got.as_ref().and_then(show::has_empty_value) {
        return Err(Broken::new(
            "token.absent-empty",
            format!("{call} returned {field} = \"\", want it absent"),
        ));
    }
    let want = || {
        if answers.is_empty() {
            "None".to_owned()
        } else {
            answers
                .iter()
                .map(|a| format!("Some({})", show::token(a)))
                .collect::<Vec<_>>()
                .join(" or ")
        }
    };
    match got {
        None if answers.is_empty() => Ok(()),
        Some(t) if answers.contains(t) => Ok(()),
        None => Err(Broken::new(
            key_rule,
            format!("{call} = None, want {}", want()),
        )),
        Some(t) if answers.is_empty() => Err(explained(
            miss_rule(model, probe, t),
            format!("{call} = Some({}), want None", show::token(t)),
            looked_up_by(model, probe, t),
        )),
        Some(t) => {
            let rule = if let Some(rule) = answers.iter().find_map(|a| value_rule(a, t)) {
                rule
            } else if answers.iter().any(|a| a.id == t.id || same_but_id(a, t)) {
                // The stored token, with the probe's own id replaced by the stored one's.
                "find.hit-fills-absent"
            } else {
                key_rule
            };
            Err(explained(
                rule,
                format!("{call} = Some({}), want {}", show::token(t), want()),
                looked_up_by(model, probe, t),
            ))
        }
    }
}

/// A wrong answer `message` of `rule`, with what the store most likely did (`why`, when known)
/// after it.
fn explained(rule: &'static str, message: String, why: Option<String>) -> Broken {
    match why {
        Some(why) => Broken {
            rule,
            message: format!("{message}{why}"),
            why: Some(why),
        },
        None => Broken::new(rule, message),
    }
}

/// When a find answered `got`, a stored token the probe's key does not designate, and that token
/// holds the probe's value of a key field other than the SDK's key for this probe (a refresh
/// token without the client id and secret, an access token beside a user name): the fields the
/// store must have looked it up by, in words; else nothing.
fn looked_up_by(model: &Model, probe: &Token, got: &Token) -> Option<String> {
    let stored = got.id.as_deref().and_then(|id| model.get(id))?;
    let key = model.key(probe).map(|((field, _), _)| field);
    let by: Vec<&str> = tokenstore_core::KEY_FIELDS
        .into_iter()
        .filter(|&field| Some(field) != key)
        .filter(|&field| probe.get(field).is_some() && probe.get(field) == stored.get(field))
        .map(|field| field.name())
        .collect();
    if by.is_empty() {
        return None;
    }
    let sdk = match key {
        Some(field) => format!("the SDK's key for this probe is its {}", field.name()),
        None => "the SDK's key takes no field of this probe".to_owned(),
    };
    Some(format!(
        "{}{} (the stored token with id {} holds the probe's), where {sdk}",
        crate::causes::LOOKED_UP_BY,
        by.join(" or "),
        show::value(stored.id.as_deref().unwrap_or_default()),
    ))
}

/// Whether `a` and `b` hold the same values in every field but the id.
fn same_but_id(a: &Token, b: &Token) -> bool {
    Field::ALL
        .into_iter()
        .filter(|f| *f != Field::Id)
        .all(|f| a.get(f) == b.get(f))
}

/// The rule of the key a probe is matched on.
fn key_rule(model: &Model, probe: &Token) -> &'static str {
    match model.key(probe) {
        None => "find.no-key-none",
        Some(((Field::UserName, _), _)) => "find.by-user-name",
        Some(((Field::AccessToken, _), _)) => "find.by-access-token",
        Some(((Field::GrantToken, grant), _)) => {
            let grant_hits = model
                .tokens()
                .iter()
                .any(|t| t.get(Field::GrantToken) == Some(grant.as_str()));
            if !grant_hits && probe.get(Field::RefreshToken).is_some() {
                "find.grant-refresh-fallback"
            } else {
                "find.by-grant-token"
            }
        }
        Some(_) => "find.by-refresh-token",
    }
}

/// The rule a hit breaks when the model says miss.
fn miss_rule(model: &Model, probe: &Token, got: &Token) -> &'static str {
    // The probe handed back unchanged is no row at all: a miss answered wrongly, whatever
    // the probe's key (the official Node DBStore answers every miss so).
    if got.clone().normalized() == probe.clone().normalized() {
        return "find.miss-none";
    }
    let Some(((field, value), _)) = model.key(probe) else {
        return "find.no-key-none";
    };
    let by_id = probe.get(Field::Id).and_then(|id| model.get(id));
    if by_id.is_some_and(|stored| &probe.merged_over(stored) == got) {
        return "find.never-by-id";
    }
    let loose = |v: &str| v != value && (loosely(v) == loosely(&value) || as_pattern(&value, v));
    // The hit names a stored token whose key differs from the probe's only loosely (the probe's
    // own value may have been laid over it).
    let stored = got.id.as_deref().and_then(|id| model.get(id));
    if got.get(field).is_some_and(loose) || stored.and_then(|t| t.get(field)).is_some_and(loose) {
        return "find.exact-match";
    }
    if field == Field::GrantToken
        && probe.get(Field::RefreshToken).is_some()
        && got.get(Field::RefreshToken) == probe.get(Field::RefreshToken)
    {
        return "find.grant-refresh-fallback";
    }
    if stored.is_some_and(|t| t.get(field) != Some(value.as_str())) {
        // A stored token found through another field than the probe's key.
        return key_rule(model, probe);
    }
    "find.miss-none"
}

/// Whether `pattern`, read as a SQL `LIKE` pattern (`_`, `%`), a glob (`?`, `*`, `[...]`) or a
/// regular expression (`.`, `.*`), matches all of `value`: a store that compares keys that way
/// finds `alice` for `al_ce`.
fn as_pattern(pattern: &str, value: &str) -> bool {
    fn matches(p: &[char], v: &[char]) -> bool {
        match p.split_first() {
            None => v.is_empty(),
            Some(('%' | '*', rest)) => (0..=v.len()).any(|i| matches(rest, &v[i..])),
            Some(('.', rest)) if rest.first() == Some(&'*') => {
                (0..=v.len()).any(|i| matches(&rest[1..], &v[i..]))
            }
            Some(('_' | '?' | '.', rest)) => !v.is_empty() && matches(rest, &v[1..]),
            Some(('[', rest)) => match rest.iter().position(|c| *c == ']') {
                Some(end) if !v.is_empty() => {
                    rest[..end].contains(&v[0]) && matches(&rest[end + 1..], &v[1..])
                }
                _ => false,
            },
            Some((c, rest)) => v.first() == Some(c) && matches(rest, &v[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    p.len() <= 64 && p.iter().any(|c| "%*_?.[".contains(*c)) && matches(&p, &v)
}

/// A value as a case-insensitive, space-trimming comparison sees it.
fn loosely(v: &str) -> String {
    v.trim().to_lowercase()
}

/// The rule a save breaks when it selected the wrong token by key (or none, or one where it
/// should have inserted): the grant-to-refresh fallback when the store followed, or failed
/// to follow, its refresh token; exact matching when it took a token that matches only
/// loosely; else `save.key-selects`.
fn save_key_rule(model: &Model, token: &Token, updated: Option<&Token>) -> &'static str {
    let token = token.clone().normalized();
    if let Some(((field, value), fallback)) = model.key(&token) {
        if field == Field::GrantToken {
            let grant_hits = model
                .tokens()
                .iter()
                .any(|t| t.get(Field::GrantToken) == Some(value.as_str()));
            let refresh = token.get(Field::RefreshToken);
            let refresh_hits = refresh.is_some_and(|r| {
                model
                    .tokens()
                    .iter()
                    .any(|t| t.get(Field::RefreshToken) == Some(r))
            });
            let followed_refresh =
                updated.is_some_and(|u| refresh.is_some() && u.get(Field::RefreshToken) == refresh);
            if !grant_hits && refresh_hits && (fallback.is_some() || followed_refresh) {
                return "find.grant-refresh-fallback";
            }
        }
        if updated
            .and_then(|u| u.get(field))
            .is_some_and(|v| v != value && loosely(v) == loosely(&value))
        {
            return "find.exact-match";
        }
    }
    "save.key-selects"
}

fn find_by_id(model: &Model, id: &str, answer: &Answer) -> Result<(), Broken> {
    let call = describe_op(&Op::FindById(id.to_owned()));
    match (model.get(id), answer) {
        (Some(want), Answer::Token(got)) if got == want => Ok(()),
        (Some(want), Answer::Token(got)) => {
            let rule = if show::has_empty_value(got).is_some() {
                "token.absent-empty"
            } else if let Some(rule) = value_rule(want, got) {
                rule
            } else {
                "find-by-id.hit"
            };
            Err(Broken::new(
                rule,
                format!("{call} = {}, want {}", show::token(got), show::token(want)),
            ))
        }
        (Some(want), other) => Err(Broken::new(
            "find-by-id.hit",
            format!("{call} = {}, want {}", shown(other), show::token(want)),
        )),
        (None, Answer::Failed(f)) if model.choices.refuses_as(f.kind, ErrorKind::NotFound) => {
            Ok(())
        }
        (None, other) => Err(Broken::new(
            "find-by-id.miss-not-found",
            format!("{call} = {}, want Err(NotFound)", shown(other)),
        )),
    }
}

fn delete(model: &mut Model, id: &str, answer: &Answer) -> Result<Explained, Broken> {
    let call = describe_op(&Op::Delete(id.to_owned()));
    let choices = model.choices;
    let stored = model.get(id).is_some();
    let listing = match (answer, stored) {
        (Answer::Done, true) => {
            model.delete(id);
            ("get_tokens() after delete_token", "delete.removes-exactly")
        }
        (other, true) => {
            return Err(Broken::new(
                "delete.removes-exactly",
                format!("{call} = {}, want Ok", shown(other)),
            ))
        }
        (Answer::Done, false) if !choices.delete_missing_reports_not_found => (
            "get_tokens() after deleting a missing id",
            "delete.missing-id",
        ),
        (Answer::Failed(f), false)
            if choices.delete_missing_reports_not_found
                && choices.refuses_as(f.kind, ErrorKind::NotFound) =>
        {
            (
                "get_tokens() after deleting a missing id",
                "delete.missing-id",
            )
        }
        (other, false) => {
            let want = if choices.delete_missing_reports_not_found {
                "Err(NotFound)"
            } else {
                "Ok"
            };
            return Err(Broken::new(
                "delete.missing-id",
                format!(
                    "{call} = {}, want {want} (the store's detected choice)",
                    shown(other)
                ),
            ));
        }
    };
    Ok(Explained {
        fresh: None,
        listing: Some(listing),
    })
}

/// Judges what `get_tokens` returned against the model's tokens; `what` names the listing in
/// the message and `rule` is the rule a difference breaks, unless the difference shows a more
/// specific one (an empty string for an absent field, a value altered, a duplicated id).
pub fn listing(model: &Model, got: &[Token], what: &str, rule: &'static str) -> Result<(), Broken> {
    if let Some(t) = got.iter().find(|t| show::has_empty_value(t).is_some()) {
        return Err(Broken::new(
            "token.absent-empty",
            format!(
                "{what} returned {} with an empty string, want the field absent",
                show::token(t)
            ),
        ));
    }
    let mut got = got.to_vec();
    got.sort_by(|a, b| a.id.cmp(&b.id));
    let mut want = model.tokens().to_vec();
    want.sort_by(|a, b| a.id.cmp(&b.id));
    if got == want {
        return Ok(());
    }
    let same_ids = got.len() == want.len() && got.iter().zip(&want).all(|(g, w)| g.id == w.id);
    let value_rules: Vec<Option<&'static str>> = got
        .iter()
        .zip(&want)
        .filter(|(g, w)| g != w)
        .map(|(g, w)| value_rule(w, g))
        .collect();
    let rule = if same_ids
        && value_rules
            .iter()
            .all(|r| *r == Some("token.expiry-opaque"))
    {
        "token.expiry-opaque"
    } else if same_ids && value_rules.iter().all(Option::is_some) {
        "token.roundtrip"
    } else {
        let ids: Vec<_> = got.iter().map(|t| &t.id).collect();
        let mut unique = ids.clone();
        unique.dedup();
        if unique.len() != ids.len() && rule != "save.insert" {
            "get-tokens.exact"
        } else {
            rule
        }
    };
    Err(Broken::new(rule, format!("{what}: {}", diff(&got, &want))))
}

/// Whether two tokens differ only in fields where the wanted value is not plain (a value a
/// store altered rather than matched wrongly).
/// The rule of a token read back with values that differ from the stored ones, when the
/// difference is one a value rule names: only the expiry time (`token.expiry-opaque`, however
/// many checks compare whole tokens), or only values that are not plain (`token.roundtrip`).
fn value_rule(want: &Token, got: &Token) -> Option<&'static str> {
    let differ: Vec<Field> = Field::ALL
        .into_iter()
        .filter(|f| want.get(*f) != got.get(*f))
        .collect();
    if differ == [Field::ExpiryTime] {
        return Some("token.expiry-opaque");
    }
    differs_only_in_unplain_values(want, got).then_some("token.roundtrip")
}

fn differs_only_in_unplain_values(want: &Token, got: &Token) -> bool {
    let mut differs = false;
    for field in Field::ALL {
        if want.get(field) != got.get(field) {
            if want.get(field).is_none_or(is_plain) {
                return false;
            }
            differs = true;
        }
    }
    differs
}

/// The words of a save the judge saw written over a stored token it should have left alone
/// (witnessed in the store's listing, `checks::judged`): a fault of that save wherever it
/// happened, never of the check that made it.
pub const WROTE_OVER: &str = "but the store wrote it over the stored token with id ";

/// The first difference between two id-sorted token lists, in words.
pub fn diff(got: &[Token], want: &[Token]) -> String {
    for w in want {
        match got.iter().filter(|g| g.id == w.id).count() {
            0 if got.is_empty() => return format!("missing {} (it answered [])", show::token(w)),
            0 => return format!("missing {}", show::token(w)),
            1 => {}
            n => return format!("{n} tokens with id {:?}, want 1", w.id),
        }
        let g = got.iter().find(|g| g.id == w.id).expect("counted above");
        if g != w {
            return format!("got {}, want {}", show::token(g), show::token(w));
        }
    }
    match got.iter().find(|g| !want.iter().any(|w| w.id == g.id)) {
        Some(extra) => format!("unexpected {}", show::token(extra)),
        None => "the lists differ".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::as_pattern;

    #[test]
    fn a_probe_read_as_a_pattern_matches_what_like_glob_and_regex_stores_find() {
        for (pattern, value) in [
            ("al_ce", "alice"),
            ("a%", "alice"),
            ("ali*", "alice"),
            ("al?ce", "alice"),
            ("[a]lice", "alice"),
            ("a.ice", "alice"),
            ("b.*", "bob"),
        ] {
            assert!(as_pattern(pattern, value), "{pattern} {value}");
        }
        for (pattern, value) in [
            ("alice", "alice"),
            ("al_ce", "alce"),
            ("b.", "bob"),
            ("[b]ob", "cob"),
        ] {
            assert!(!as_pattern(pattern, value), "{pattern} {value}");
        }
    }
}
