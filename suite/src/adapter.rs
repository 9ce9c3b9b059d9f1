//! A store written in another language, behind an adapter process (`specs/adapter-protocol.md`),
//! driven as a [`StoreFixture`] like any backend: the hello and its capabilities and limits, the
//! look at the store before checking it, and fresh storage through `reset`. The wire itself
//! (requests, responses, timeouts, a broken child) is [`crate::protocol`].
//!
//! The store's resources: the adapter closes every store object at each reset (`close`, `end`
//! ... where the class has one). When the adapter process still holds more than
//! [`LEAKED_SOCKETS`] sockets after that, the store keeps connections that nothing can close:
//! that is reported once, under the store ([`StoreFixture::resources`]), and the adapter is
//! restarted, so the server never runs out of connections and no rule's check meets it.

use crate::clients::ConnectionKiller;
use crate::fixture::{Capabilities, SetupError, Storage, StoreFixture};
use crate::protocol::{
    agree_protocol, call, declared_limits, hello_request, restarted, store_error, AdapterStore,
    CallError, Process, ProcessStore, Shared, Spares,
};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokenstore_core::{Limits, StoreError, TokenStore};

pub use crate::protocol::DEFAULT_TIMEOUT;

/// How many sockets the adapter process may hold once every store object is dropped and closed:
/// a store that holds more keeps its connections (a pool per object never ended). Well under the
/// connections a server allows by default (PostgreSQL 100, MySQL 151).
pub const LEAKED_SOCKETS: usize = 32;

/// A store behind an adapter, as a fixture: one child process for the whole run (a new one when
/// the store leaked connections).
pub struct AdapterFixture {
    name: String,
    capabilities: Capabilities,
    limits: Limits,
    command: Vec<String>,
    timeout: Duration,
    process: Mutex<Shared>,
    /// Findings about the store's resources, each once.
    resources: Mutex<Vec<String>>,
    /// Fresh storages given so far.
    resets: std::sync::atomic::AtomicUsize,
    /// More processes of the adapter (processes and crash tiers), started ahead of need.
    spares: Arc<Spares>,
    /// What drops the store's server connections (the server-loss tier), when the run names
    /// the store's servers.
    killer: Option<Arc<dyn ConnectionKiller>>,
}

impl AdapterFixture {
    /// Starts the adapter and shakes hands with it. Unless `allow_destructive`, refuses a store
    /// that already holds tokens: the suite empties every store it checks.
    pub fn start(
        command: &[String],
        timeout: Duration,
        allow_destructive: bool,
    ) -> Result<AdapterFixture, String> {
        let process = Process::spawn(command, timeout)?;
        let hello = process.call("hello", hello_request(timeout));
        let hello = match hello {
            Ok(hello) => hello,
            Err(CallError::Answer { message, .. }) => {
                return Err(format!("the adapter refused hello: {message}"))
            }
            // An adapter that exits with status 2 before hello could not start with the flags
            // it was given, and said why in its last line (the Python adapter's startup errors).
            Err(CallError::Broken(why)) => {
                let last = process.stderr.lock().expect("not poisoned").back().cloned();
                return Err(match (process.exit_code(), last) {
                    (Some(2), Some(line)) => line,
                    _ => why,
                });
            }
        };
        let protocol = agree_protocol(&process, &hello)?;
        if !allow_destructive {
            let broken = |e: CallError| match e {
                CallError::Broken(why) => why,
                CallError::Answer { message, .. } => {
                    format!("cannot look at the store before checking it: {message}")
                }
            };
            let opened = process
                .call("reopen", json!({"namespace": crate::MAIN_NAMESPACE}))
                .map_err(broken)?;
            // A store that answers None for its empty list holds nothing: get-tokens.exact
            // fails it later, the look before the checks goes on.
            let held = match process.call("get_tokens", json!({"store": opened["store"]})) {
                Err(CallError::Answer { message, .. })
                    if message.starts_with("get_tokens() returned None,")
                        || message.starts_with("getTokens() returned null,") =>
                {
                    Value::Array(Vec::new())
                }
                Err(CallError::Answer { message, .. }) => {
                    return Err(format!(
                        "cannot look at the store before checking it: {}; its storage may hold rows an earlier run or another program left, which checking deletes: point the adapter at empty storage, or pass --allow-destructive",
                        crate::show::message(&message)
                    ))
                }
                answer => answer.map_err(broken)?,
            };
            let count = held.as_array().map_or(0, Vec::len);
            if count > 0 {
                return Err(format!(
                    "the store already holds {count} tokens, and checking it deletes them: point the adapter at an empty store, or pass --allow-destructive"
                ));
            }
        }
        let flag = |name: &str| hello["capabilities"][name].as_bool().unwrap_or(false);
        let limits = declared_limits(&hello["limits"])?;
        Ok(AdapterFixture {
            name: hello["name"].as_str().unwrap_or("adapter").to_owned(),
            capabilities: Capabilities {
                persistent: flag("persistent"),
                namespaces: flag("namespaces"),
                // Requests of a protocol 1 adapter take turns: no call overlaps another.
                concurrent: protocol >= 2 && flag("concurrent"),
                processes: flag("processes"),
                connections: flag("connections"),
            },
            limits,
            command: command.to_vec(),
            timeout,
            process: Mutex::new(Arc::new(process)),
            resources: Mutex::new(Vec::new()),
            resets: Default::default(),
            spares: Arc::new(Spares::new(command, timeout)),
            killer: None,
        })
    }

    /// The store talks to servers that `killer` can drop its connections on (the CLI's
    /// `--server URL`): it gets the server-loss tier, whose kills drop the adapter process's
    /// TCP connections there (by their client addresses, [`crate::clients::tcp_clients`]).
    pub fn with_connection_killer(mut self, killer: Arc<dyn ConnectionKiller>) -> Self {
        self.capabilities.connections = true;
        self.killer = Some(killer);
        self
    }
}

#[async_trait]
impl StoreFixture for AdapterFixture {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    fn limits(&self) -> Limits {
        self.limits
    }

    /// An adapter that cannot give storage is broken, never merely unavailable.
    fn required(&self) -> bool {
        true
    }

    async fn storage(&self) -> Result<Box<dyn Storage>, SetupError> {
        let mut process = self.process.lock().expect("not poisoned").clone();
        let mut reset = fresh_storage(&process).await?;
        let resets = 1 + self
            .resets
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(held) = process.sockets().filter(|&n| n > LEAKED_SOCKETS) {
            self.leaked(held, resets);
            process =
                Arc::new(
                    restarted(&self.command, self.timeout)
                        .await
                        .map_err(|e| SetupError {
                            message: format!(
                                "restarting the adapter, which kept {held} sockets: {e}"
                            ),
                            breaks: None,
                        })?,
                );
            *self.process.lock().expect("not poisoned") = process.clone();
            reset = fresh_storage(&process).await?;
        }
        Ok(Box::new(AdapterStorage {
            process,
            dir: reset["dir"].as_str().map(PathBuf::from),
            spares: self.spares.clone(),
            killer: self.killer.clone(),
        }))
    }

    fn resources(&self) -> Vec<String> {
        self.resources.lock().expect("not poisoned").clone()
    }
}

impl AdapterFixture {
    /// Notes, once, that the adapter held `held` sockets after the kit dropped and closed every
    /// store object of `resets` fresh storages.
    fn leaked(&self, held: usize, resets: usize) {
        let mut resources = self.resources.lock().expect("not poisoned");
        if resources.is_empty() {
            resources.push(format!(
                "the adapter process held {held} open sockets after the kit had dropped every store object (closing those with close(), end() or dispose()) at fresh storage {resets}: each store object keeps its connections after it is dropped, so an app that makes a store per request runs the server out of connections; close them in a close() or end() method, or share one pool between store objects (the kit restarted the adapter and went on)"
            ));
        }
    }
}

/// Fresh storage in `process`: its `reset`, or why the adapter could not give it (and the rule
/// the store broke doing it, when the adapter names one).
async fn fresh_storage(process: &Shared) -> Result<Value, SetupError> {
    call(process, "reset", json!({})).await.map_err(|e| {
        let breaks = match &e {
            CallError::Answer { rule: Some(r), .. } => crate::rules::rule(r).map(|r| r.id.as_str()),
            _ => None,
        };
        let message = match e {
            CallError::Answer {
                message,
                rule: Some(_),
                ..
            } => message,
            e => format!("preparing fresh storage (reset): {}", store_error(e, None)),
        };
        SetupError { message, breaks }
    })
}

struct AdapterStorage {
    process: Shared,
    /// The storage's directory, as the adapter's reset named it, for other processes to attach.
    dir: Option<PathBuf>,
    spares: Arc<Spares>,
    killer: Option<Arc<dyn ConnectionKiller>>,
}

#[async_trait]
impl Storage for AdapterStorage {
    async fn open(&self, namespace: &str) -> Result<Arc<dyn TokenStore>, StoreError> {
        let opened = call(&self.process, "reopen", json!({"namespace": namespace}))
            .await
            .map_err(|e| store_error(e, None))?;
        Ok(Arc::new(AdapterStore {
            process: self.process.clone(),
            handle: opened["store"].clone(),
        }))
    }

    async fn spawn(&self, namespace: &str) -> Result<ProcessStore, StoreError> {
        ProcessStore::start_spare(&self.spares, self.dir.as_deref(), namespace).await
    }

    /// Drops the adapter process's TCP connections on the servers the killer knows.
    async fn kill_connections(&self) -> Result<usize, StoreError> {
        let Some(killer) = &self.killer else {
            return Err(StoreError::Backend {
                message: "no server is named for this store (--server URL)".into(),
                source: None,
            });
        };
        let clients =
            crate::clients::tcp_clients(self.process.pid()).ok_or_else(|| StoreError::Backend {
                message: "cannot read the adapter process's connections from /proc".into(),
                source: None,
            })?;
        killer.kill(&clients).await
    }

    fn take_findings(&self) -> Vec<(&'static str, String)> {
        std::mem::take(&mut *self.process.findings.lock().expect("not poisoned"))
    }
}
