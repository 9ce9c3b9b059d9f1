//! Opening a backend at a given size for a benchmark: the synthetic population loaded in bulk
//! by the backend's registry entry (`tokenstore_backends::Backend::load`), with its raw floor on
//! the same data, or any store loaded through `save_token`.

use crate::workload;
use std::sync::Arc;
use tokenstore_backends::{Backend, Cleanup, Floor};
use tokenstore_core::{Token, TokenStore};

/// A loaded store and its floor, ready to measure.
pub struct Bench {
    pub backend: String,
    pub size: usize,
    pub store: Arc<dyn TokenStore>,
    pub floor: Option<std::sync::Arc<dyn Floor>>,
    /// The server's URL (a server backend) and the storage's name (table, key prefix), for a
    /// server's own tools to find the same data.
    pub url: String,
    pub name: String,
    cleanup: Option<Box<dyn Cleanup>>,
    _dir: tempfile::TempDir,
}

impl Bench {
    /// `backend` with `size` tokens loaded. A server backend needs its URL variable
    /// (`TOKENSTORE_MYSQL_URL`...); without it the error says to set it.
    pub async fn prepare(backend: &dyn Backend, size: usize) -> Result<Bench, String> {
        let url = match backend.server() {
            Some(server) => std::env::var(server.url_variable()).map_err(|_| {
                format!(
                    "{}: set {} to benchmark it",
                    backend.name(),
                    server.url_variable()
                )
            })?,
            None => String::new(),
        };
        let dir =
            tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let name = format!("tsbench_{}_{size}", std::process::id());
        let tokens: Vec<Token> = workload::population(size);
        let loaded = backend.load(&url, dir.path(), &name, &tokens).await?;
        Ok(Bench {
            backend: backend.name().to_owned(),
            size,
            store: loaded.store,
            floor: loaded.floor.map(std::sync::Arc::from),
            url,
            name,
            cleanup: loaded.cleanup,
            _dir: dir,
        })
    }

    /// A store loaded by someone else (an adapter store, say), measured without a floor.
    pub async fn of_store(
        name: &str,
        store: Arc<dyn TokenStore>,
        size: usize,
    ) -> Result<Bench, String> {
        store
            .delete_tokens()
            .await
            .map_err(|e| format!("{name}: cannot empty the store: {e}"))?;
        for t in workload::population(size) {
            store
                .save_token(&mut t.clone())
                .await
                .map_err(|e| format!("{name}: {e}"))?;
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        Ok(Bench {
            backend: name.to_owned(),
            size,
            store,
            floor: None,
            url: String::new(),
            name: name.to_owned(),
            cleanup: None,
            _dir: dir,
        })
    }

    /// Removes what the benchmark created on a server.
    pub async fn cleanup(self) {
        if let Some(cleanup) = self.cleanup {
            cleanup.cleanup().await;
        }
    }
}
