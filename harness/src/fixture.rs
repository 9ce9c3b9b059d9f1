//! What the harness needs from a store under test: a way to make fresh, empty storage, to open
//! stores on it (again, for a reopen), and the capabilities the store declares.
//!
//! Third-party stores implement [`StoreFixture`] (or build a [`DirFixture`]) and hand it to
//! [`crate::suite!`] or [`crate::check_store`].

use crate::rules::Capability;
use async_trait::async_trait;
use std::path::Path;
use std::sync::Arc;
use tokenstore_core::{Limits, StoreError, TokenStore};

/// What a store declares it supports; rules that need a capability it lacks are skipped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Capabilities {
    /// A store reopened on the same storage sees the tokens saved before.
    pub persistent: bool,
    /// Stores opened on different namespaces of one storage are independent.
    pub namespaces: bool,
    /// One store object may be called from many tasks at once.
    pub concurrent: bool,
    /// Several processes may open one storage at once ([`Storage::spawn`]), and a process killed
    /// mid-write leaves the storage consistent: the processes and crash tiers.
    pub processes: bool,
    /// The store talks to a server over connections the harness can kill
    /// ([`Storage::kill_connections`]): the server-loss tier.
    pub connections: bool,
}

impl Capabilities {
    /// Whether the store declares `capability`.
    pub fn has(&self, capability: Capability) -> bool {
        match capability {
            Capability::Persistent => self.persistent,
            Capability::Namespaces => self.namespaces,
            Capability::Concurrent => self.concurrent,
            Capability::Processes => self.processes,
            Capability::Connections => self.connections,
        }
    }
}

/// A kind of store under test.
#[async_trait]
pub trait StoreFixture: Send + Sync {
    /// The name reports use for the store.
    fn name(&self) -> &str;
    fn capabilities(&self) -> Capabilities;
    /// The limits the store declares (longest values, characters it cannot hold); the suite
    /// checks they are the real ones. No limits by default.
    fn limits(&self) -> Limits {
        Limits::default()
    }
    /// Whether a store that cannot give storage fails the run (else its rules are skipped).
    fn required(&self) -> bool {
        crate::servers::required(self.name())
    }

    /// New storage, empty and shared with no other storage, removed when dropped. An error says
    /// in one line what the user must do (start a server, set a variable), and names the rule
    /// the store broke when the store itself could not be emptied.
    async fn storage(&self) -> Result<Box<dyn Storage>, SetupError>;
}

/// Why a fixture could not give fresh storage: one line for the user, and the rule the store
/// broke when its own call failed (a `delete_tokens` that cannot empty it). The runner reports
/// that rule failed once, and the rules it could not check as blocked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupError {
    pub message: String,
    pub breaks: Option<&'static str>,
}

impl From<String> for SetupError {
    fn from(message: String) -> Self {
        SetupError {
            message,
            breaks: None,
        }
    }
}

impl From<&str> for SetupError {
    fn from(message: &str) -> Self {
        message.to_owned().into()
    }
}

impl From<SetupError> for String {
    fn from(e: SetupError) -> Self {
        e.message
    }
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// One isolated storage: a temporary directory, a table, a key prefix.
#[async_trait]
pub trait Storage: Send + Sync {
    /// Opens a store on `namespace` of this storage. Opening the same namespace again is a
    /// reopen: a persistent store sees what was saved there before.
    async fn open(&self, namespace: &str) -> Result<Arc<dyn TokenStore>, StoreError>;

    /// Removes what the storage holds on a server (tables, keys). Local storage goes on drop.
    async fn remove(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Starts another process that opens `namespace` of this storage (stores declaring the
    /// processes capability).
    async fn spawn(&self, namespace: &str) -> Result<crate::adapter::ProcessStore, StoreError> {
        let _ = namespace;
        Err(StoreError::Backend {
            message: "this storage cannot be opened from another process".into(),
            source: None,
        })
    }

    /// What the stores on this storage were seen to do that their answers cannot say, since the
    /// last call of this: (rule broken, message). An adapter reports these (a Node.js method
    /// that returns a plain value where the SDK awaits a Promise); built-in stores have none.
    fn take_findings(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Kills, on the server, every connection the stores opened on this storage hold, and
    /// returns how many it killed (stores declaring the connections capability).
    async fn kill_connections(&self) -> Result<usize, StoreError> {
        Err(StoreError::Backend {
            message: "this storage has no server connections to kill".into(),
            source: None,
        })
    }
}

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

    async fn spawn(&self, namespace: &str) -> Result<crate::adapter::ProcessStore, StoreError> {
        let Some(command) = &self.served_by else {
            return Err(StoreError::Backend {
                message: "this store names no command that serves it from another process".into(),
                source: None,
            });
        };
        crate::adapter::ProcessStore::start(
            command,
            Some(self.dir.path()),
            namespace,
            crate::adapter::DEFAULT_TIMEOUT,
        )
        .await
    }
}
