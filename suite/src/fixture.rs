//! What the harness needs from a store under test: a way to make fresh, empty storage, to open
//! stores on it (again, for a reopen), and the capabilities the store declares.
//!
//! Third-party stores implement [`StoreFixture`] (or build a [`crate::DirFixture`]) and hand it
//! to [`crate::suite_main!`], [`crate::suite!`] or [`crate::check_store`].

use crate::rules::Capability;
use async_trait::async_trait;
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
        required(self.name())
    }

    /// What the run saw the store do to its resources (connections kept after the kit dropped
    /// every store object), in words, each once; none for a store the kit builds itself.
    fn resources(&self) -> Vec<String> {
        Vec::new()
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
    async fn spawn(&self, namespace: &str) -> Result<crate::protocol::ProcessStore, StoreError> {
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

/// What a test that needs the server `name` at `url` got from connecting to it: `Some` when it
/// connected; `None` when it did not, said on stderr (`skipped: no NAME at URL (ERROR)`), so the
/// test passes without the server. Panics when `TOKENSTORE_REQUIRE` names `name` ([`required`]).
pub fn or_skip<T, E: std::fmt::Display>(
    name: &str,
    url: &str,
    connected: Result<T, E>,
) -> Option<T> {
    match connected {
        Ok(value) => Some(value),
        Err(e) => {
            assert!(!required(name), "TOKENSTORE_REQUIRE names {name}, but {e}");
            eprintln!("skipped: no {name} at {url} ({e})");
            None
        }
    }
}

/// Whether the variable `TOKENSTORE_REQUIRE` (comma-separated store names) names `name`: a store
/// it names that cannot give storage fails the run instead of being skipped.
pub fn required(name: &str) -> bool {
    std::env::var("TOKENSTORE_REQUIRE")
        .map(|v| v.split(',').any(|n| n.trim() == name))
        .unwrap_or(false)
}
