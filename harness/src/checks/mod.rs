//! The example-based checks: at least one per rule, each a small scenario on a fresh, empty store,
//! named after what must hold. Grouped one file per part of the interface. A check returns
//! `Err(message)` where the message reads `call(args) = got, want expected`.

mod concurrency;
mod data;
mod delete;
mod find;
mod find_by_id;
mod flows;
pub mod histories;
mod limits;
mod save;
pub mod server_loss;
mod store;

use crate::fixture::{Capabilities, Storage};
use crate::show;
use futures::future::BoxFuture;
use std::sync::Arc;
use tokenstore_core::{Choices, ErrorKind, Limits, StoreError, Token, TokenStore};

/// The outcome of one check.
pub type CheckResult = Result<(), String>;

/// One example-based check of one rule.
#[derive(Clone, Copy)]
pub struct Check {
    /// The rule the check verifies.
    pub rule: &'static str,
    /// What must hold, as a snake_case name.
    pub name: &'static str,
    pub run: fn(Ctx) -> BoxFuture<'static, CheckResult>,
}

/// Every check, in the order of the rules.
pub fn all() -> Vec<Check> {
    [
        data::CHECKS,
        find::CHECKS,
        find_by_id::CHECKS,
        save::CHECKS,
        delete::CHECKS,
        store::CHECKS,
        concurrency::CHECKS,
        histories::CHECKS,
        server_loss::CHECKS,
        limits::CHECKS,
        flows::CHECKS,
    ]
    .concat()
}

/// Registers async check functions: `checks![("rule.id", name), ...]`.
macro_rules! checks {
    ($(($rule:literal, $name:ident)),* $(,)?) => {
        pub(super) const CHECKS: &[super::Check] = &[$(
            super::Check {
                rule: $rule,
                name: stringify!($name),
                run: |ctx| Box::pin($name(ctx)),
            }
        ),*];
    };
}
pub(crate) use checks;

/// Builds a token from `field = value` pairs: `token!(user_name = "u", refresh_token = "r")`.
macro_rules! token {
    ($($field:ident = $value:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut t = tokenstore_core::Token::default();
        $( t.$field = Some(String::from($value)); )*
        t
    }};
}
pub(crate) use token;

/// What a check works with: a fresh store, its storage (for reopening), and the store's profile.
#[derive(Clone)]
pub struct Ctx {
    pub store: Arc<dyn TokenStore>,
    pub storage: Arc<dyn Storage>,
    pub choices: Choices,
    pub capabilities: Capabilities,
    /// The limits the store declares.
    pub limits: Limits,
    /// The run's seed, for checks that draw random workloads.
    pub seed: u64,
}

/// A client id and secret pair, so that a probe's grant or refresh token is its key.
pub fn with_client(mut t: Token) -> Token {
    t.client_id = Some("client-1".into());
    t.client_secret = Some("secret-1".into());
    t
}

impl Ctx {
    /// Saves a copy of `token` and returns it as the store left it (with its id).
    pub async fn save(&self, token: &Token) -> Result<Token, String> {
        let mut t = token.clone();
        match self.store.save_token(&mut t).await {
            Ok(()) if t.id.is_some() => Ok(t),
            Ok(()) => Err(format!(
                "save_token({}) left the token without an id, want the stored id written back",
                show::token(token)
            )),
            Err(e) => Err(format!(
                "save_token({}) = Err({e}), want Ok",
                show::token(token)
            )),
        }
    }

    /// Saves and returns the stored id.
    pub async fn save_id(&self, token: &Token) -> Result<String, String> {
        Ok(self.save(token).await?.id.unwrap_or_default())
    }

    /// Saves a token the spec says must be refused with `kind`; checks the store is unchanged.
    pub async fn save_refused(&self, token: &Token, kind: ErrorKind) -> CheckResult {
        let before = self.all().await?;
        let mut t = token.clone();
        match self.store.save_token(&mut t).await {
            Err(e) if e.kind() == kind => {}
            Err(e) => {
                return Err(format!(
                    "save_token({}) = Err({e}), want Err({kind:?})",
                    show::token(token)
                ))
            }
            Ok(()) => {
                return Err(format!(
                    "save_token({}) = Ok (id {:?}), want Err({kind:?})",
                    show::token(token),
                    t.id
                ))
            }
        }
        let after = self.all().await?;
        expect_same_tokens(
            &format!(
                "get_tokens() after the refused save_token({})",
                show::token(token)
            ),
            &after,
            &before,
        )
    }

    pub async fn find(&self, probe: &Token) -> Result<Option<Token>, String> {
        self.store
            .find_token(probe)
            .await
            .map_err(|e| format!("find_token({}) = Err({e}), want Ok", show::token(probe)))
    }

    /// Checks `find_token(probe)` gives exactly `want`.
    pub async fn expect_find(&self, probe: &Token, want: Option<&Token>) -> CheckResult {
        let got = self.find(probe).await?;
        if got.as_ref() != want {
            return Err(format!(
                "find_token({}) = {}, want {}",
                show::token(probe),
                show::opt_token(&got),
                show::opt_token(&want.cloned())
            ));
        }
        Ok(())
    }

    /// Checks `find_token(probe)` hits the token with id `id`.
    pub async fn expect_find_id(&self, probe: &Token, id: &str) -> CheckResult {
        let got = self.find(probe).await?;
        match &got {
            Some(t) if t.id.as_deref() == Some(id) => Ok(()),
            _ => Err(format!(
                "find_token({}) = {}, want the stored token with id {id:?}",
                show::token(probe),
                show::opt_token(&got)
            )),
        }
    }

    pub async fn by_id(&self, id: &str) -> Result<Result<Token, StoreError>, String> {
        Ok(self.store.find_token_by_id(id).await)
    }

    /// The stored token with this id, which must exist.
    pub async fn stored(&self, id: &str) -> Result<Token, String> {
        self.store
            .find_token_by_id(id)
            .await
            .map_err(|e| format!("find_token_by_id({id:?}) = Err({e}), want the stored token"))
    }

    /// Every stored token, sorted by id.
    pub async fn all(&self) -> Result<Vec<Token>, String> {
        let mut tokens = self
            .store
            .get_tokens()
            .await
            .map_err(|e| format!("get_tokens() = Err({e}), want Ok"))?;
        tokens.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(tokens)
    }

    /// A new store object on the same storage and namespace, replacing this one.
    pub async fn reopen(&mut self) -> CheckResult {
        self.store = self
            .storage
            .open(crate::MAIN_NAMESPACE)
            .await
            .map_err(|e| format!("reopening the store = Err({e}), want Ok"))?;
        Ok(())
    }
}

/// Compares two token lists (sorted by id) and names the first difference.
pub fn expect_same_tokens(what: &str, got: &[Token], want: &[Token]) -> CheckResult {
    if got == want {
        return Ok(());
    }
    let list = |ts: &[Token]| ts.iter().map(show::token).collect::<Vec<_>>().join(", ");
    Err(format!("{what} = [{}], want [{}]", list(got), list(want)))
}

/// Fails with `message` unless `condition` holds.
pub fn ensure(condition: bool, message: impl FnOnce() -> String) -> CheckResult {
    if condition {
        Ok(())
    } else {
        Err(message())
    }
}
