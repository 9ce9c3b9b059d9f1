//! The token: ten optional strings, where an empty string means absent.
//!
//! `Debug` and `Display` never print the secrets (client secret, access, refresh and grant
//! tokens), so a token can be logged or put in an error message safely.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One of the ten fields of a token, in the column order of the SDK's file and table formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Id,
    UserName,
    ClientId,
    ClientSecret,
    RefreshToken,
    AccessToken,
    GrantToken,
    ExpiryTime,
    RedirectUrl,
    ApiDomain,
}

impl Field {
    /// Every field, in the SDK's column order.
    pub const ALL: [Field; 10] = [
        Field::Id,
        Field::UserName,
        Field::ClientId,
        Field::ClientSecret,
        Field::RefreshToken,
        Field::AccessToken,
        Field::GrantToken,
        Field::ExpiryTime,
        Field::RedirectUrl,
        Field::ApiDomain,
    ];

    /// The field's name, as the SDK's table columns spell it.
    pub fn name(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::UserName => "user_name",
            Field::ClientId => "client_id",
            Field::ClientSecret => "client_secret",
            Field::RefreshToken => "refresh_token",
            Field::AccessToken => "access_token",
            Field::GrantToken => "grant_token",
            Field::ExpiryTime => "expiry_time",
            Field::RedirectUrl => "redirect_url",
            Field::ApiDomain => "api_domain",
        }
    }

    /// Whether the value is a credential that must never be printed.
    pub fn is_secret(self) -> bool {
        matches!(
            self,
            Field::ClientSecret | Field::RefreshToken | Field::AccessToken | Field::GrantToken
        )
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An OAuth token as the SDK hands it to a store. `None` and `Some("")` both mean absent;
/// [`Token::normalized`] turns the second into the first.
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Token {
    pub id: Option<String>,
    pub user_name: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub refresh_token: Option<String>,
    pub access_token: Option<String>,
    pub grant_token: Option<String>,
    pub expiry_time: Option<String>,
    pub redirect_url: Option<String>,
    pub api_domain: Option<String>,
}

impl Token {
    /// The field's value when present and not empty.
    pub fn get(&self, field: Field) -> Option<&str> {
        self.slot(field).as_deref().filter(|v| !v.is_empty())
    }

    /// Sets a field; an empty string is stored as absent.
    pub fn set(&mut self, field: Field, value: Option<String>) {
        *self.slot_mut(field) = value.filter(|v| !v.is_empty());
    }

    /// The field exactly as held, an empty string included (what a store handed back).
    pub fn raw(&self, field: Field) -> Option<&str> {
        self.slot(field).as_deref()
    }

    /// Sets a field exactly as given, an empty string included (what a caller may hand a store).
    pub fn set_raw(&mut self, field: Field, value: Option<String>) {
        *self.slot_mut(field) = value;
    }

    /// A token holding these fields, each set as [`Token::set`] sets it (an empty value is
    /// absent).
    pub fn of(fields: &[(Field, &str)]) -> Token {
        fields
            .iter()
            .fold(Token::default(), |t, (f, v)| t.with(*f, *v))
    }

    /// Builder form of [`Token::set`] for a present value.
    pub fn with(mut self, field: Field, value: impl Into<String>) -> Self {
        self.set(field, Some(value.into()));
        self
    }

    /// The same token with every empty string turned into absent.
    pub fn normalized(mut self) -> Self {
        for field in Field::ALL {
            let value = self.slot_mut(field).take();
            self.set(field, value);
        }
        self
    }

    /// The fields that are present, with their values, in column order.
    pub fn present(&self) -> impl Iterator<Item = (Field, &str)> {
        Field::ALL
            .into_iter()
            .filter_map(move |f| self.get(f).map(|v| (f, v)))
    }

    /// This token's present fields over `stored`: what a merge-update writes, and what a
    /// `find_token` hit returns for a probe.
    pub fn merged_over(&self, stored: &Token) -> Token {
        self.laid_over(stored.clone())
    }

    /// [`Token::merged_over`] on a stored token the caller owns, without copying it.
    pub fn laid_over(&self, stored: Token) -> Token {
        let mut merged = stored.normalized();
        for (field, value) in self.present() {
            if merged.get(field) != Some(value) {
                merged.set(field, Some(value.to_owned()));
            }
        }
        merged
    }

    /// Whether the token carries any of refresh, grant or access token: without one, there is
    /// nothing to insert.
    pub fn has_credential(&self) -> bool {
        [Field::RefreshToken, Field::GrantToken, Field::AccessToken]
            .into_iter()
            .any(|f| self.get(f).is_some())
    }

    fn slot(&self, field: Field) -> &Option<String> {
        match field {
            Field::Id => &self.id,
            Field::UserName => &self.user_name,
            Field::ClientId => &self.client_id,
            Field::ClientSecret => &self.client_secret,
            Field::RefreshToken => &self.refresh_token,
            Field::AccessToken => &self.access_token,
            Field::GrantToken => &self.grant_token,
            Field::ExpiryTime => &self.expiry_time,
            Field::RedirectUrl => &self.redirect_url,
            Field::ApiDomain => &self.api_domain,
        }
    }

    fn slot_mut(&mut self, field: Field) -> &mut Option<String> {
        match field {
            Field::Id => &mut self.id,
            Field::UserName => &mut self.user_name,
            Field::ClientId => &mut self.client_id,
            Field::ClientSecret => &mut self.client_secret,
            Field::RefreshToken => &mut self.refresh_token,
            Field::AccessToken => &mut self.access_token,
            Field::GrantToken => &mut self.grant_token,
            Field::ExpiryTime => &mut self.expiry_time,
            Field::RedirectUrl => &mut self.redirect_url,
            Field::ApiDomain => &mut self.api_domain,
        }
    }
}

impl fmt::Debug for Token {
    /// Present fields only; secrets show as `<redacted>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Token");
        for (field, value) in self.present() {
            if field.is_secret() {
                s.field(field.name(), &format_args!("<redacted>"));
            } else {
                s.field(field.name(), &value);
            }
        }
        s.finish()
    }
}

impl fmt::Display for Token {
    /// `Token(id=…, user_name=…)`: the two fields that identify a token, nothing secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Token(id={}, user_name={})",
            self.get(Field::Id).unwrap_or("-"),
            self.get(Field::UserName).unwrap_or("-")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Token {
        let mut t = Token::default();
        for f in Field::ALL {
            t.set(f, Some(format!("value-of-{}", f.name())));
        }
        t
    }

    #[test]
    fn debug_and_display_never_print_secrets() {
        let t = full();
        let printed = format!("{t:?} {t} {t:#?}");
        for f in Field::ALL.into_iter().filter(|f| f.is_secret()) {
            assert!(
                !printed.contains(&format!("value-of-{}", f.name())),
                "{printed}"
            );
        }
        assert!(printed.contains("value-of-user_name"));
    }

    #[test]
    fn empty_string_is_absent() {
        let t = Token::default().with(Field::UserName, "").normalized();
        assert_eq!(t.user_name, None);
        let raw = Token {
            access_token: Some(String::new()),
            ..Token::default()
        };
        assert_eq!(raw.get(Field::AccessToken), None);
        assert_eq!(raw.normalized(), Token::default());
    }

    #[test]
    fn merge_keeps_present_and_fills_absent() {
        let stored = Token::default()
            .with(Field::Id, "1")
            .with(Field::RefreshToken, "r0")
            .with(Field::AccessToken, "a0");
        let update = Token::default().with(Field::AccessToken, "a1");
        let merged = update.merged_over(&stored);
        assert_eq!(merged.get(Field::Id), Some("1"));
        assert_eq!(merged.get(Field::RefreshToken), Some("r0"));
        assert_eq!(merged.get(Field::AccessToken), Some("a1"));
    }
}
