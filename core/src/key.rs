//! The lookup key: which stored token a probe (find_token) or an id-less save designates.
//!
//! The order is the one the official SDK stores agree on: the user name, exclusively; else the
//! access token when client id and client secret are both absent; else, when both are present,
//! the grant token, or the refresh token when there is no grant token; else no key at all.

use crate::{ErrorKind, Field, Token};

/// The implementation-defined choices the spec leaves to a store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Choices {
    /// When a grant-token key matches no stored token, match the probe's refresh token instead
    /// (what the official FileStores do; the DBStores do not). Applies to find and save alike.
    pub grant_falls_back_to_refresh: bool,
    /// `delete_token` of an id that is not stored reports NotFound (else it succeeds silently).
    pub delete_missing_reports_not_found: bool,
    /// The store's refusals are untyped ([`ErrorKind::Refused`]): it says no without saying
    /// whether the id was not found, the save conflicts or the token is invalid, as a store
    /// raising only the SDKs' one exception type does. A store that types some refusals types
    /// them all, so this is false for any store that ever answers a typed refusal.
    pub untyped_refusals: bool,
}

impl Choices {
    /// Whether an error of kind `got` is the refusal `want` from a store with these choices:
    /// the same kind, or an untyped refusal from a store whose refusals are untyped.
    pub fn refuses_as(&self, got: ErrorKind, want: ErrorKind) -> bool {
        got == want || (self.untyped_refusals && got == ErrorKind::Refused)
    }
}

/// The field and value a probe is matched on. It borrows the token's values: working out a key
/// copies nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupKey<'a> {
    UserName(&'a str),
    AccessToken(&'a str),
    /// Grant token, carrying the probe's refresh token for stores that fall back to it.
    GrantToken {
        grant: &'a str,
        refresh: Option<&'a str>,
    },
    RefreshToken(&'a str),
}

impl<'a> LookupKey<'a> {
    /// The key of a token, or `None` when it has no usable key (it then matches nothing).
    pub fn of(token: &'a Token) -> Option<LookupKey<'a>> {
        let has = |f| token.get(f).is_some();
        let value = |f| token.get(f);
        if let Some(user) = value(Field::UserName) {
            return Some(LookupKey::UserName(user));
        }
        let client_id = has(Field::ClientId);
        let client_secret = has(Field::ClientSecret);
        if !client_id && !client_secret {
            return value(Field::AccessToken).map(LookupKey::AccessToken);
        }
        if client_id && client_secret {
            if let Some(grant) = value(Field::GrantToken) {
                return Some(LookupKey::GrantToken {
                    grant,
                    refresh: value(Field::RefreshToken),
                });
            }
            return value(Field::RefreshToken).map(LookupKey::RefreshToken);
        }
        None
    }

    /// The field and value to match first.
    pub fn primary(&self) -> (Field, &'a str) {
        match self {
            LookupKey::UserName(v) => (Field::UserName, v),
            LookupKey::AccessToken(v) => (Field::AccessToken, v),
            LookupKey::GrantToken { grant, .. } => (Field::GrantToken, grant),
            LookupKey::RefreshToken(v) => (Field::RefreshToken, v),
        }
    }

    /// The field and value to match when the primary matches nothing, under `choices`.
    pub fn fallback(&self, choices: Choices) -> Option<(Field, &'a str)> {
        match self {
            LookupKey::GrantToken {
                refresh: Some(refresh),
                ..
            } if choices.grant_falls_back_to_refresh => Some((Field::RefreshToken, *refresh)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_name_wins_over_everything() {
        let t = Token::of(&[
            (Field::UserName, "u"),
            (Field::AccessToken, "a"),
            (Field::GrantToken, "g"),
        ]);
        assert_eq!(LookupKey::of(&t), Some(LookupKey::UserName("u")));
    }

    #[test]
    fn access_token_only_without_client_credentials() {
        let bare = Token::of(&[(Field::AccessToken, "a")]);
        assert_eq!(LookupKey::of(&bare), Some(LookupKey::AccessToken("a")));
        let half = Token::of(&[(Field::AccessToken, "a"), (Field::ClientId, "c")]);
        assert_eq!(LookupKey::of(&half), None);
    }

    #[test]
    fn grant_then_refresh_with_both_client_credentials() {
        let both = [(Field::ClientId, "c"), (Field::ClientSecret, "s")];
        let g = Token::of(&[
            both[0],
            both[1],
            (Field::GrantToken, "g"),
            (Field::RefreshToken, "r"),
        ]);
        let key = LookupKey::of(&g).unwrap();
        assert_eq!(key.primary(), (Field::GrantToken, "g"));
        assert_eq!(key.fallback(Choices::default()), None);
        let on = Choices {
            grant_falls_back_to_refresh: true,
            ..Choices::default()
        };
        assert_eq!(key.fallback(on), Some((Field::RefreshToken, "r")));
        let r = Token::of(&[
            both[0],
            both[1],
            (Field::RefreshToken, "r"),
            (Field::AccessToken, "a"),
        ]);
        assert_eq!(LookupKey::of(&r), Some(LookupKey::RefreshToken("r")));
        let none = Token::of(&[both[0], both[1], (Field::AccessToken, "a")]);
        assert_eq!(LookupKey::of(&none), None);
    }
}
