//! The decisions of `find_token` and `save_token`, written once over a read-only view of the
//! stored tokens ([`TokenRows`]), so that a backend only stores and indexes, and applies the plan.
//!
//! A backend calls [`plan_save`] inside whatever makes its save atomic (a lock, a transaction),
//! then writes the [`SavePlan`]; it never decides the key order, the merge or the conflicts itself.

use crate::{Choices, Field, LookupKey, Result, StoreError, Token};

/// Read access to the stored tokens, as a save or a find needs it.
pub trait TokenRows {
    /// The stored token with exactly this id.
    fn by_id(&self, id: &str) -> Result<Option<Token>>;
    /// A stored token whose `field` equals `value` byte for byte, if there is one.
    fn by_field(&self, field: Field, value: &str) -> Result<Option<Token>>;
}

/// What a save must write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SavePlan {
    /// Replace the stored token that has `merged.id` with `merged`; `changed` is false when the
    /// write would change nothing.
    Update { merged: Token, changed: bool },
    /// Insert this token; when its id is absent the backend gives it a fresh one.
    Insert(Token),
}

/// Decides what saving `token` does: a stored id selects the token, else the lookup key does;
/// a hit merge-updates, a miss inserts. Errors are the refusals of the spec, and nothing has been
/// written when one is returned.
pub fn plan_save(rows: &impl TokenRows, token: &Token, choices: Choices) -> Result<SavePlan> {
    let token = token.clone().normalized();
    if let Some(id) = token.get(Field::Id) {
        if let Some(stored) = rows.by_id(id)? {
            return plan_update(rows, &token, stored);
        }
    }
    let target = match LookupKey::of(&token) {
        Some(key) => find_row(rows, &key, choices)?,
        None => None,
    };
    match (target, token.get(Field::Id)) {
        (Some(stored), Some(id)) => Err(StoreError::Conflict(format!(
            "id {id:?} is not stored, but the token's lookup key matches the stored token with id {:?}",
            stored.get(Field::Id).unwrap_or_default()
        ))),
        (Some(stored), None) => plan_update(rows, &token, stored),
        (None, _) if !token.has_credential() => Err(StoreError::invalid(
            Field::RefreshToken,
            "the token matches no stored token and has no refresh, grant or access token to insert",
        )),
        (None, _) => Ok(SavePlan::Insert(token)),
    }
}

/// What `find_token` returns for `probe`: the designated stored token with the probe's present
/// fields kept and its absent ones filled, or `None`.
pub fn find_in(rows: &impl TokenRows, probe: &Token, choices: Choices) -> Result<Option<Token>> {
    let Some(key) = LookupKey::of(probe) else {
        return Ok(None);
    };
    Ok(find_row(rows, &key, choices)?.map(|stored| probe.laid_over(stored)))
}

/// The next fresh id: counts up from `counter` and skips every id `is_taken` reports stored, so a
/// fresh id never equals a stored one, whatever ids callers chose.
pub fn next_fresh_id(
    counter: &mut u64,
    mut is_taken: impl FnMut(&str) -> Result<bool>,
) -> Result<String> {
    loop {
        *counter += 1;
        let candidate = counter.to_string();
        if !is_taken(&candidate)? {
            return Ok(candidate);
        }
    }
}

fn find_row(rows: &impl TokenRows, key: &LookupKey, choices: Choices) -> Result<Option<Token>> {
    let (field, value) = key.primary();
    if let Some(hit) = rows.by_field(field, value)? {
        return Ok(Some(hit));
    }
    match key.fallback(choices) {
        Some((field, value)) => rows.by_field(field, value),
        None => Ok(None),
    }
}

fn plan_update(rows: &impl TokenRows, token: &Token, stored: Token) -> Result<SavePlan> {
    let mut merged = token.merged_over(&stored);
    merged.id = stored.id.clone();
    if let Some(user) = merged.get(Field::UserName) {
        if let Some(owner) = rows.by_field(Field::UserName, user)? {
            if owner.id != stored.id {
                return Err(StoreError::Conflict(format!(
                    "user name {user:?} already belongs to the stored token with id {:?}",
                    owner.get(Field::Id).unwrap_or_default()
                )));
            }
        }
    }
    let changed = merged != stored.normalized();
    Ok(SavePlan::Update { merged, changed })
}
