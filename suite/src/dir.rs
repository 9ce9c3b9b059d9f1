//! [`DirFixture`]: a fixture for stores that keep their storage in a directory (or nowhere),
//! each storage a new temporary directory, served from other processes by a command the fixture
//! names (the processes and crash tiers).

use crate::fixture::{Capabilities, SetupError, Storage, StoreFixture};
use crate::protocol::ProcessStore;
use async_trait::async_trait;
use std::path::Path;
use std::sync::Arc;
use tokenstore_core::{Limits, StoreError, TokenStore};

type OpenFn = dyn Fn(&Path, &str) -> Result<Arc<dyn TokenStore>, StoreError> + Send + Sync;

/// A fixture for stores that keep their storage in a directory (or nowhere): each storage is a
/// new temporary directory, and `open(dir, namespace)` opens a store in it.
pub struct DirFixture {
    name: String,
    capabilities: Capabilities,
    open: Arc<OpenFn>,
    limits: Limits,
    /// The command of a process serving this store over the adapter protocol (processes tier).
    served_by: Option<Vec<String>>,
}

impl DirFixture {
    pub fn new(
        name: impl Into<String>,
        capabilities: Capabilities,
        open: impl Fn(&Path, &str) -> Result<Arc<dyn TokenStore>, StoreError> + Send + Sync + 'static,
    ) -> Self {
        DirFixture {
            name: name.into(),
            capabilities,
            open: Arc::new(open),
            limits: Limits::default(),
            served_by: None,
        }
    }

    /// Declares the store's limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Names the command that serves this store from another process, over the adapter
    /// protocol (`tokenstore-check serve --backend NAME` for the built-in ones), and declares
    /// the processes capability.
    pub fn served_by(mut self, command: Vec<String>) -> Self {
        self.served_by = Some(command);
        self.capabilities.processes = true;
        self
    }

    /// Storage in `dir`, which the caller owns: nothing is removed afterwards.
    pub fn storage_at(&self, dir: &Path) -> Box<dyn Storage> {
        Box::new(DirStorage {
            dir: StorageDir::Borrowed(dir.to_owned()),
            open: self.open.clone(),
            served_by: self.served_by.clone(),
        })
    }
}

/// The directory of a storage: a temporary one it removes, or one it was given.
enum StorageDir {
    Owned(tempfile::TempDir),
    Borrowed(std::path::PathBuf),
}

impl StorageDir {
    fn path(&self) -> &Path {
        match self {
            StorageDir::Owned(dir) => dir.path(),
            StorageDir::Borrowed(dir) => dir,
        }
    }
}

#[async_trait]
impl StoreFixture for DirFixture {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    fn limits(&self) -> Limits {
        self.limits
    }

    async fn storage(&self) -> Result<Box<dyn Storage>, SetupError> {
        let dir = tempfile::Builder::new()
            .prefix("tokenstore-check-")
            .tempdir()
            .map_err(|e| {
                format!(
                    "cannot create a temporary directory: {e}; set TMPDIR to a writable directory"
                )
            })?;
        Ok(Box::new(DirStorage {
            dir: StorageDir::Owned(dir),
            open: self.open.clone(),
            served_by: self.served_by.clone(),
        }))
    }
}

struct DirStorage {
    dir: StorageDir,
    open: Arc<OpenFn>,
    served_by: Option<Vec<String>>,
}

#[async_trait]
impl Storage for DirStorage {
    async fn open(&self, namespace: &str) -> Result<Arc<dyn TokenStore>, StoreError> {
        (self.open)(self.dir.path(), namespace)
    }

    async fn spawn(&self, namespace: &str) -> Result<ProcessStore, StoreError> {
        let Some(command) = &self.served_by else {
            return Err(StoreError::Backend {
                message: "this store names no command that serves it from another process".into(),
                source: None,
            });
        };
        ProcessStore::start(
            command,
            Some(self.dir.path()),
            namespace,
            crate::protocol::DEFAULT_TIMEOUT,
        )
        .await
    }
}
