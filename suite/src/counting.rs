//! Counts the store calls the model-based test makes (its steps and the checks after them), for
//! the throughput figure of a run. A pass-through: it changes no answer.

use crate::fixture::Storage;
use async_trait::async_trait;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokenstore_core::{StoreError, Token, TokenStore};

/// A storage whose stores count every call into `calls`.
pub struct CountingStorage<'a> {
    pub inner: &'a dyn Storage,
    pub calls: Arc<AtomicU64>,
}

#[async_trait]
impl Storage for CountingStorage<'_> {
    async fn open(&self, namespace: &str) -> Result<Arc<dyn TokenStore>, StoreError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let inner = self.inner.open(namespace).await?;
        Ok(Arc::new(Counted {
            inner,
            calls: self.calls.clone(),
        }))
    }

    async fn remove(&self) -> Result<(), StoreError> {
        self.inner.remove().await
    }

    async fn kill_connections(&self) -> Result<usize, StoreError> {
        self.inner.kill_connections().await
    }
}

struct Counted {
    inner: Arc<dyn TokenStore>,
    calls: Arc<AtomicU64>,
}

impl Counted {
    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl TokenStore for Counted {
    async fn find_token(&self, probe: &Token) -> Result<Option<Token>, StoreError> {
        self.count();
        self.inner.find_token(probe).await
    }

    async fn save_token(&self, token: &mut Token) -> Result<(), StoreError> {
        self.count();
        self.inner.save_token(token).await
    }

    async fn delete_token(&self, id: &str) -> Result<(), StoreError> {
        self.count();
        self.inner.delete_token(id).await
    }

    async fn get_tokens(&self) -> Result<Vec<Token>, StoreError> {
        self.count();
        self.inner.get_tokens().await
    }

    async fn delete_tokens(&self) -> Result<(), StoreError> {
        self.count();
        self.inner.delete_tokens().await
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Token, StoreError> {
        self.count();
        self.inner.find_token_by_id(id).await
    }
}
