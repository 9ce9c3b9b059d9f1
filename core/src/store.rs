//! The six-method interface a token store implements.

use crate::{Result, Token};
use async_trait::async_trait;

/// Persistence of OAuth tokens, as the SDKs call it. Object safe: use `Box<dyn TokenStore>` or
/// `Arc<dyn TokenStore>`. A call that returns an error leaves the stored tokens as they were.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// The stored token the probe's lookup key designates, with the probe's present fields kept
    /// and its absent ones filled; `None` on a miss or when the probe has no usable key.
    async fn find_token(&self, probe: &Token) -> Result<Option<Token>>;

    /// Inserts or merge-updates the token; afterwards `token.id` holds the stored token's id.
    async fn save_token(&self, token: &mut Token) -> Result<()>;

    /// Removes the token with exactly this id.
    async fn delete_token(&self, id: &str) -> Result<()>;

    /// Every stored token, whole, each once.
    async fn get_tokens(&self) -> Result<Vec<Token>>;

    /// Removes every token of this store, which stays usable.
    async fn delete_tokens(&self) -> Result<()>;

    /// The stored token with exactly this id, or [`crate::StoreError::NotFound`].
    async fn find_token_by_id(&self, id: &str) -> Result<Token>;
}
