//! Pieces every SQL backend builds its statements from: the SDK's column list, the check on
//! table names, and the `WHERE` clause that fetches a call's candidates in one query.

use crate::{Field, Result, StoreError};

/// The SDK's `oauthtoken` columns, in its order (`select *` in the official DBStores relies on it).
pub const COLUMNS: &str = "id, user_name, client_id, client_secret, refresh_token, access_token, \
                           grant_token, expiry_time, redirect_url, api_domain";

/// Refuses a table or namespace name that is not a plain identifier (it is spliced into SQL).
pub fn check_identifier(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 48
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(StoreError::Backend {
            message: format!(
                "table name {name:?} is not allowed: use 1 to 48 ASCII letters, digits and \
                 underscores, not starting with a digit"
            ),
            source: None,
        })
    }
}

/// `f1 = P1 OR f2 = P2 ...` over `lookups`, with `placeholder(i)` for the i-th parameter
/// (0-based), and the parameter values in order. Empty lookups give `FALSE`.
pub fn where_any(
    lookups: &[(Field, String)],
    placeholder: impl Fn(usize) -> String,
) -> (String, Vec<String>) {
    if lookups.is_empty() {
        return ("1 = 0".into(), Vec::new());
    }
    let clause = lookups
        .iter()
        .enumerate()
        .map(|(i, (field, _))| format!("{} = {}", field.name(), placeholder(i)))
        .collect::<Vec<_>>()
        .join(" OR ");
    (clause, lookups.iter().map(|(_, v)| v.clone()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_any_numbers_its_placeholders() {
        let lookups = vec![(Field::UserName, "u".into()), (Field::Id, "1".into())];
        let (clause, params) = where_any(&lookups, |i| format!("${}", i + 1));
        assert_eq!(clause, "user_name = $1 OR id = $2");
        assert_eq!(params, vec!["u", "1"]);
        assert_eq!(where_any(&[], |_| "?".into()).0, "1 = 0");
    }

    #[test]
    fn identifiers_are_checked() {
        assert!(check_identifier("ts_run_1").is_ok());
        for bad in ["", "1abc", "a-b", "a;drop", &"x".repeat(49)] {
            assert!(check_identifier(bad).is_err(), "{bad}");
        }
    }
}
