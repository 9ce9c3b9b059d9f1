//! The reference model: the spec as a plain vector of tokens, written for obviousness rather than
//! speed, and independently of `tokenstore_core`'s save logic so that a bug there cannot hide in
//! both. Where the spec lets a store choose (which of several matching tokens a key designates),
//! the model answers with every acceptable result, and follows the store's choice afterwards.

use tokenstore_core::{Choices, ErrorKind, Field, Token};

/// What the model says a save must do.
#[derive(Clone, Debug)]
pub enum SaveExpectation {
    /// The save must fail with this kind; `rule` is the rule that demands it.
    Refused {
        kind: ErrorKind,
        rule: &'static str,
        why: String,
    },
    /// The save must update one of `candidates` (one, when selected by id).
    Update { candidates: Vec<Token>, by_id: bool },
    /// The save must insert this token (id absent: the store picks a fresh one).
    Insert(Token),
}

/// A key as the model sees it: the field and value matched first, then the fallback, if any.
pub type ModelKey = ((Field, String), Option<(Field, String)>);

#[derive(Clone, Debug, Default)]
pub struct Model {
    tokens: Vec<Token>,
    pub choices: Choices,
}

/// Letters, digits and `@._:/-`, 1 to 255 bytes: values every store must hold as given. Others
/// a store may refuse with InvalidToken, but never alter.
pub fn is_plain(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 255
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@._:/-".contains(c))
}

fn present(t: &Token, f: Field) -> Option<&str> {
    t.get(f)
}

fn merge(saved: &Token, stored: &Token) -> Token {
    let mut out = Token::default();
    for f in Field::ALL {
        let value = present(saved, f).or(present(stored, f));
        out.set(f, value.map(str::to_owned));
    }
    out
}

impl Model {
    pub fn new(choices: Choices) -> Self {
        Model {
            tokens: Vec::new(),
            choices,
        }
    }

    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    pub fn get(&self, id: &str) -> Option<&Token> {
        self.tokens
            .iter()
            .find(|t| present(t, Field::Id) == Some(id))
    }

    /// The key field and value of a token, and the fallback field and value, per the spec.
    pub fn key(&self, t: &Token) -> Option<ModelKey> {
        let get = |f| present(t, f).map(str::to_owned);
        if let Some(user) = get(Field::UserName) {
            return Some(((Field::UserName, user), None));
        }
        let (cid, csecret) = (get(Field::ClientId), get(Field::ClientSecret));
        if cid.is_none() && csecret.is_none() {
            return get(Field::AccessToken).map(|a| ((Field::AccessToken, a), None));
        }
        if cid.is_some() && csecret.is_some() {
            if let Some(grant) = get(Field::GrantToken) {
                let fallback = get(Field::RefreshToken)
                    .filter(|_| self.choices.grant_falls_back_to_refresh)
                    .map(|r| (Field::RefreshToken, r));
                return Some(((Field::GrantToken, grant), fallback));
            }
            return get(Field::RefreshToken).map(|r| ((Field::RefreshToken, r), None));
        }
        None
    }

    /// The stored tokens the token's key designates (any one of them may be chosen).
    pub fn candidates(&self, t: &Token) -> Vec<Token> {
        let Some(((field, value), fallback)) = self.key(t) else {
            return Vec::new();
        };
        let hits = self.with_value(field, &value);
        if !hits.is_empty() {
            return hits;
        }
        match fallback {
            Some((field, value)) => self.with_value(field, &value),
            None => Vec::new(),
        }
    }

    fn with_value(&self, field: Field, value: &str) -> Vec<Token> {
        self.tokens
            .iter()
            .filter(|t| present(t, field) == Some(value))
            .cloned()
            .collect()
    }

    /// Every answer find_token may give; empty means it must give None.
    pub fn find(&self, probe: &Token) -> Vec<Token> {
        self.candidates(probe)
            .iter()
            .map(|stored| merge(probe, stored))
            .collect()
    }

    pub fn expect_save(&self, token: &Token) -> SaveExpectation {
        let token = token.clone().normalized();
        let id = present(&token, Field::Id);
        if let Some(stored) = id.and_then(|id| self.get(id)) {
            let merged = merge(&token, stored);
            if let Some(user) = present(&merged, Field::UserName) {
                let other = self
                    .tokens
                    .iter()
                    .find(|t| present(t, Field::UserName) == Some(user) && t.id != stored.id);
                if let Some(other) = other {
                    return SaveExpectation::Refused {
                        kind: ErrorKind::Conflict,
                        rule: "save.user-name-unique",
                        why: format!(
                            "user name {user:?} belongs to the token with id {:?}",
                            other.id
                        ),
                    };
                }
            }
            return SaveExpectation::Update {
                candidates: vec![stored.clone()],
                by_id: true,
            };
        }
        let candidates = self.candidates(&token);
        if !candidates.is_empty() {
            if let Some(id) = id {
                return SaveExpectation::Refused {
                    kind: ErrorKind::Conflict,
                    rule: "save.unstored-id-conflict",
                    why: format!("id {id:?} is not stored but the key matches a stored token"),
                };
            }
            return SaveExpectation::Update {
                candidates,
                by_id: false,
            };
        }
        let has_credential = [Field::RefreshToken, Field::GrantToken, Field::AccessToken]
            .into_iter()
            .any(|f| present(&token, f).is_some());
        if !has_credential {
            return SaveExpectation::Refused {
                kind: ErrorKind::InvalidToken,
                rule: "save.refuse-tokenless",
                why: "matches nothing and has no refresh, grant or access token".into(),
            };
        }
        SaveExpectation::Insert(token)
    }

    /// Merges `token` into the stored token with id `id`.
    pub fn apply_update(&mut self, id: &str, token: &Token) {
        if let Some(stored) = self
            .tokens
            .iter_mut()
            .find(|t| present(t, Field::Id) == Some(id))
        {
            let mut merged = merge(token, stored);
            merged.id = stored.id.clone();
            *stored = merged;
        }
    }

    /// Inserts `token` (normalized) with id `id`.
    pub fn apply_insert(&mut self, id: &str, token: &Token) {
        let mut token = token.clone().normalized();
        token.id = Some(id.to_owned());
        self.tokens.push(token);
    }

    /// Deletes the token with this id; false when there was none.
    pub fn delete(&mut self, id: &str) -> bool {
        let before = self.tokens.len();
        self.tokens.retain(|t| present(t, Field::Id) != Some(id));
        before != self.tokens.len()
    }

    pub fn clear(&mut self) {
        self.tokens.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(fields: &[(Field, &str)]) -> Token {
        fields
            .iter()
            .fold(Token::default(), |t, (f, v)| t.with(*f, *v))
    }

    #[test]
    fn model_inserts_then_updates_by_user_name() {
        let mut m = Model::default();
        let first = t(&[(Field::UserName, "u"), (Field::RefreshToken, "r")]);
        assert!(matches!(m.expect_save(&first), SaveExpectation::Insert(_)));
        m.apply_insert("1", &first);
        let again = t(&[(Field::UserName, "u"), (Field::AccessToken, "a")]);
        match m.expect_save(&again) {
            SaveExpectation::Update { candidates, by_id } => {
                assert!(!by_id);
                assert_eq!(candidates.len(), 1);
            }
            other => panic!("{other:?}"),
        }
        m.apply_update("1", &again);
        let stored = m.get("1").unwrap();
        assert_eq!(stored.get(Field::RefreshToken), Some("r"));
        assert_eq!(stored.get(Field::AccessToken), Some("a"));
    }

    #[test]
    fn model_refuses_what_the_spec_refuses() {
        let mut m = Model::default();
        m.apply_insert(
            "1",
            &t(&[(Field::UserName, "a"), (Field::RefreshToken, "r")]),
        );
        m.apply_insert(
            "2",
            &t(&[(Field::UserName, "b"), (Field::RefreshToken, "r")]),
        );
        let rename = t(&[(Field::Id, "2"), (Field::UserName, "a")]);
        assert!(matches!(
            m.expect_save(&rename),
            SaveExpectation::Refused {
                rule: "save.user-name-unique",
                ..
            }
        ));
        let unstored = t(&[(Field::Id, "9"), (Field::UserName, "a")]);
        assert!(matches!(
            m.expect_save(&unstored),
            SaveExpectation::Refused {
                rule: "save.unstored-id-conflict",
                ..
            }
        ));
        let tokenless = t(&[(Field::UserName, "c")]);
        assert!(matches!(
            m.expect_save(&tokenless),
            SaveExpectation::Refused {
                rule: "save.refuse-tokenless",
                ..
            }
        ));
    }

    #[test]
    fn plain_values_are_the_portable_ones() {
        assert!(is_plain("user@example.com"));
        assert!(is_plain("https://accounts.zoho.com/cb"));
        assert!(!is_plain(" padded"));
        assert!(!is_plain(""));
        assert!(!is_plain(&"x".repeat(256)));
    }
}
