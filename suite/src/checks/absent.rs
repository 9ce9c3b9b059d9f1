//! A store wrapper for the checks: a token the store returns with an empty string in a field
//! breaks `token.absent-empty` (an empty string is an absent value, never returned as one). The
//! wrapper notes that rule once and hands the check the token with those fields absent, so a
//! check of another rule judges which tokens the store keeps, not how it spells absence: one
//! defect, one rule (the TypeScript SDK's FileStore returns `""` for every absent client id).

use super::Notes;
use crate::show;
use async_trait::async_trait;
use std::sync::Arc;
use tokenstore_core::{Field, StoreError, Token, TokenStore};

pub struct EmptyAsAbsent {
    inner: Arc<dyn TokenStore>,
    notes: Notes,
}

impl EmptyAsAbsent {
    pub fn wrap(store: Arc<dyn TokenStore>, notes: &Notes) -> Arc<dyn TokenStore> {
        Arc::new(EmptyAsAbsent {
            inner: store,
            notes: notes.clone(),
        })
    }

    /// `token` with its empty fields absent, noting the first empty field under the rule.
    fn absent(&self, call: impl FnOnce() -> String, token: Token) -> Token {
        let empty = Field::ALL
            .into_iter()
            .find(|f| token.raw(*f).is_some_and(str::is_empty));
        if let Some(field) = empty {
            self.notes.add(
                "token.absent-empty",
                format!(
                    "{} returned {} with {field} = \"\", want it absent: an empty string is an absent value",
                    call(),
                    show::token(&token)
                ),
            );
            return token.normalized();
        }
        token
    }
}

#[async_trait]
impl TokenStore for EmptyAsAbsent {
    async fn find_token(&self, probe: &Token) -> Result<Option<Token>, StoreError> {
        let found = self.inner.find_token(probe).await?;
        Ok(found.map(|t| self.absent(|| format!("find_token({})", show::token(probe)), t)))
    }

    async fn save_token(&self, token: &mut Token) -> Result<(), StoreError> {
        self.inner.save_token(token).await
    }

    async fn delete_token(&self, id: &str) -> Result<(), StoreError> {
        self.inner.delete_token(id).await
    }

    async fn get_tokens(&self) -> Result<Vec<Token>, StoreError> {
        let all = self.inner.get_tokens().await?;
        Ok(all
            .into_iter()
            .map(|t| self.absent(|| "get_tokens()".into(), t))
            .collect())
    }

    async fn delete_tokens(&self) -> Result<(), StoreError> {
        self.inner.delete_tokens().await
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Token, StoreError> {
        let found = self.inner.find_token_by_id(id).await?;
        Ok(self.absent(|| format!("find_token_by_id({})", show::value(id)), found))
    }
}
