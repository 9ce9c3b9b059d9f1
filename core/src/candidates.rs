//! For stores that query a server: the (field, value) pairs a call must fetch, so that one query
//! brings every stored token the spec's decision can depend on, and [`Candidates`], those rows as
//! [`TokenRows`], so the decision itself is still [`crate::plan_save`] and [`crate::find_in`].

use crate::{Choices, Field, LookupKey, Result, Token, TokenRows};

/// Fetched tokens: a superset of the ones a decision looks at. Lookups compare byte for byte, so
/// a server whose index matches loosely (a collation) may return extra rows here harmlessly.
#[derive(Clone, Debug, Default)]
pub struct Candidates(pub Vec<Token>);

impl TokenRows for Candidates {
    fn by_id(&self, id: &str) -> Result<Option<Token>> {
        Ok(self
            .0
            .iter()
            .find(|t| t.get(Field::Id) == Some(id))
            .cloned())
    }

    fn by_field(&self, field: Field, value: &str) -> Result<Option<Token>> {
        Ok(self.0.iter().find(|t| t.get(field) == Some(value)).cloned())
    }
}

/// What `find_token(probe)` must fetch: the key and, under `choices`, its fallback.
pub fn find_lookups(probe: &Token, choices: Choices) -> Vec<(Field, String)> {
    let Some(key) = LookupKey::of(probe) else {
        return Vec::new();
    };
    let (field, value) = key.primary();
    let mut lookups = vec![(field, value.to_owned())];
    if let Some((field, value)) = key.fallback(choices) {
        lookups.push((field, value.to_owned()));
    }
    lookups
}

/// What `save_token(token)` must fetch: the token's id, its key and fallback, and its user name
/// (for the one-token-per-user-name check).
pub fn save_lookups(token: &Token, choices: Choices) -> Vec<(Field, String)> {
    let token = token.clone().normalized();
    let mut lookups = find_lookups(&token, choices);
    for field in [Field::Id, Field::UserName] {
        if let Some(value) = token.get(field) {
            if !lookups.iter().any(|(f, v)| *f == field && v == value) {
                lookups.push((field, value.to_owned()));
            }
        }
    }
    lookups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{plan_save, SavePlan};

    #[test]
    fn save_lookups_cover_id_key_and_user_name() {
        let t = Token::default()
            .with(Field::Id, "7")
            .with(Field::UserName, "u")
            .with(Field::AccessToken, "a");
        let lookups = save_lookups(&t, Choices::default());
        assert_eq!(
            lookups,
            vec![(Field::UserName, "u".into()), (Field::Id, "7".into())]
        );
    }

    #[test]
    fn candidates_with_loose_extra_rows_decide_exactly() {
        let stored = Token::default()
            .with(Field::Id, "1")
            .with(Field::UserName, "Alice")
            .with(Field::RefreshToken, "r");
        let rows = Candidates(vec![stored]);
        let t = Token::default()
            .with(Field::UserName, "alice")
            .with(Field::RefreshToken, "r2");
        assert!(matches!(
            plan_save(&rows, &t, Choices::default()),
            Ok(SavePlan::Insert(_))
        ));
    }
}
