//! A server backend as a fixture. The server is provisioned on first use and kept for the run
//! ([`crate::provision`]). Every storage is its own namespace (table or key prefix) named after
//! the run, removed when the storage is, so parallel runs never collide and nothing outside the
//! namespace is touched. [`Storage::kill_connections`] kills the connections of the stores the
//! storage opened, and no other: each store's connections carry its label or are known by id.
//! A fixture that names the program serving it (`PROGRAM serve --backend NAME --url URL`)
//! declares the processes capability: [`Storage::spawn`] starts that program, attached to the
//! storage by its name, as another app instance on the same server.

use crate::provision::{provision, Provisioned};
use crate::{ServerBackend, ServerStore};
use async_trait::async_trait;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use tokenstore_core::{Limits, StoreError, TokenStore};
use tokenstore_suite::{Capabilities, ProcessStore, SetupError, Storage, StoreFixture};

/// A server backend as a fixture.
pub struct ServerFixture {
    server: &'static dyn ServerBackend,
    provisioned: tokio::sync::OnceCell<Result<Provisioned, String>>,
    run: String,
    storages: AtomicUsize,
    /// The program that serves this backend from other processes (processes and crash tiers).
    served_by: Option<PathBuf>,
}

impl ServerFixture {
    pub fn new(server: &'static dyn ServerBackend) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        ServerFixture {
            server,
            provisioned: tokio::sync::OnceCell::new(),
            run: format!("ts{}x{nanos:x}", std::process::id()),
            storages: AtomicUsize::new(0),
            served_by: None,
        }
    }

    /// The fixture on the server at `url`, provisioned already (what `serve` attaches to).
    pub fn at(server: &'static dyn ServerBackend, url: &str) -> Self {
        let fixture = ServerFixture::new(server);
        fixture
            .provisioned
            .set(Ok(Provisioned::at(url)))
            .unwrap_or_else(|_| unreachable!("a new cell is empty"));
        fixture
    }

    /// Names `program`, whose `serve --backend NAME --url URL` serves this backend from another
    /// process, and declares the processes capability.
    pub fn served_by(mut self, program: PathBuf) -> Self {
        self.served_by = Some(program);
        self
    }

    /// The storage called `name` on the server (the name `Storage::spawn` attaches another
    /// process to); it removes nothing when dropped, its creator does.
    pub async fn storage_named(&self, name: &str) -> Result<Box<dyn Storage>, StoreError> {
        let url = self.url().await.map_err(|message| StoreError::Backend {
            message,
            source: None,
        })?;
        Ok(Box::new(self.storage_with(url, name.to_owned())))
    }

    async fn url(&self) -> Result<String, String> {
        let provisioned = self
            .provisioned
            .get_or_init(|| provision(self.server))
            .await;
        Ok(provisioned.as_ref().map_err(|e| e.clone())?.url.clone())
    }

    fn storage_with(&self, url: String, base: String) -> ServerStorage {
        ServerStorage {
            server: self.server,
            url,
            base,
            served_by: self.served_by.clone(),
            opened: Mutex::new(BTreeSet::new()),
            stores: Mutex::new(Vec::new()),
        }
    }
}

/// The fixture of `server`, served from other processes by `program` when it is given: what
/// each server backend's `Backend::fixture` is.
pub(crate) fn fixture(
    server: &'static dyn ServerBackend,
    program: Option<PathBuf>,
) -> Box<dyn StoreFixture> {
    let fixture = ServerFixture::new(server);
    Box::new(match program {
        Some(program) => fixture.served_by(program),
        None => fixture,
    })
}

#[async_trait]
impl StoreFixture for ServerFixture {
    fn name(&self) -> &str {
        self.server.name()
    }

    /// A reconnect is a reopen: the tokens are on the server. Other processes (app instances)
    /// share it when the fixture names the program that serves it.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            persistent: true,
            namespaces: true,
            concurrent: true,
            connections: true,
            processes: self.served_by.is_some(),
        }
    }

    fn limits(&self) -> Limits {
        self.server.limits()
    }

    async fn storage(&self) -> Result<Box<dyn Storage>, SetupError> {
        let url = self.url().await?;
        let n = self.storages.fetch_add(1, Ordering::Relaxed);
        Ok(Box::new(
            self.storage_with(url, format!("{}_{n}", self.run)),
        ))
    }
}

struct ServerStorage {
    server: &'static dyn ServerBackend,
    url: String,
    base: String,
    served_by: Option<PathBuf>,
    opened: Mutex<BTreeSet<String>>,
    /// The stores opened on this storage, not kept alive by it, to find their connections.
    stores: Mutex<Vec<Weak<dyn ServerStore>>>,
}

impl ServerStorage {
    /// The table or key prefix of `namespace`, remembered for [`Storage::remove`].
    fn name_of(&self, namespace: &str) -> String {
        let name = format!("{}_{namespace}", self.base);
        self.opened
            .lock()
            .expect("not poisoned")
            .insert(name.clone());
        name
    }
}

#[async_trait]
impl Storage for ServerStorage {
    async fn open(&self, namespace: &str) -> Result<Arc<dyn TokenStore>, StoreError> {
        let name = self.name_of(namespace);
        let store = self.server.open(&self.url, &name).await?;
        self.stores
            .lock()
            .expect("not poisoned")
            .push(Arc::downgrade(&store));
        Ok(store.into_store())
    }

    /// Starts `PROGRAM serve --backend NAME --url URL`, attached to this storage by its name.
    async fn spawn(&self, namespace: &str) -> Result<ProcessStore, StoreError> {
        let Some(program) = &self.served_by else {
            return Err(StoreError::Backend {
                message: "this fixture names no program that serves it from another process".into(),
                source: None,
            });
        };
        self.name_of(namespace);
        let command = [
            program.to_string_lossy().into_owned(),
            "serve".into(),
            "--backend".into(),
            self.server.name().into(),
            "--url".into(),
            self.url.clone(),
        ];
        ProcessStore::start(
            &command,
            Some(Path::new(&self.base)),
            namespace,
            tokenstore_suite::DEFAULT_ADAPTER_TIMEOUT,
        )
        .await
    }

    async fn kill_connections(&self) -> Result<usize, StoreError> {
        let tags: Vec<String> = self
            .stores
            .lock()
            .expect("not poisoned")
            .iter()
            .filter_map(Weak::upgrade)
            .flat_map(|store| store.connection_tags())
            .collect();
        if tags.is_empty() {
            return Ok(0);
        }
        self.server.kill(&self.url, &tags).await
    }

    async fn remove(&self) -> Result<(), StoreError> {
        let names: Vec<String> = std::mem::take(&mut *self.opened.lock().expect("not poisoned"))
            .into_iter()
            .collect();
        for name in names {
            self.server
                .open(&self.url, &name)
                .await?
                .drop_namespace()
                .await?;
        }
        Ok(())
    }
}
