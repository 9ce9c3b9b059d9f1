//! The server backends (mysql, redis, postgres) as fixtures, and how a run gets a server: the URL
//! in `TOKENSTORE_<SERVER>_URL`; else, when a Docker engine answers a ping, a pinned container
//! started with testcontainers; else the backend is unavailable, and its rules are skipped with a
//! line saying how to provide the server (or failed, when `TOKENSTORE_REQUIRE` names it).
//!
//! Every storage is its own namespace (table or key prefix) named after the run, removed when the
//! storage is, so parallel runs never collide and nothing outside the namespace is touched. A
//! fixture that names the program serving it (`tokenstore-check serve --backend NAME --url URL`)
//! declares the processes capability: [`Storage::spawn`] starts that program, attached to the
//! storage by its name, as another app instance on the same server.
//! [`Storage::kill_connections`] kills the connections of the stores the storage opened, and no
//! other: each store's connections carry its label (Redis, PostgreSQL) or are known by id (MySQL).

use async_trait::async_trait;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use tokenstore_core::{StoreError, TokenStore};
use tokenstore_suite::{Capabilities, ProcessStore, Storage, StoreFixture};

/// A server kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    Mysql,
    Redis,
    Postgres,
}

impl Server {
    pub const ALL: [Server; 3] = [Server::Mysql, Server::Redis, Server::Postgres];

    pub fn name(self) -> &'static str {
        match self {
            Server::Mysql => "mysql",
            Server::Redis => "redis",
            Server::Postgres => "postgres",
        }
    }

    pub fn from_name(name: &str) -> Option<Server> {
        Server::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The variable that gives the server's URL.
    pub fn url_variable(self) -> &'static str {
        match self {
            Server::Mysql => "TOKENSTORE_MYSQL_URL",
            Server::Redis => "TOKENSTORE_REDIS_URL",
            Server::Postgres => "TOKENSTORE_POSTGRES_URL",
        }
    }

    fn example_url(self) -> &'static str {
        match self {
            Server::Mysql => "mysql://root@127.0.0.1:3306/test",
            Server::Redis => "redis://127.0.0.1:6379",
            Server::Postgres => "postgres://postgres@127.0.0.1:5432/test",
        }
    }
}

pub use tokenstore_suite::required;

/// A server a run can use, and the container that runs it, if the run started one.
struct Provisioned {
    url: String,
    _container: Option<Box<dyn std::any::Any + Send + Sync>>,
}

async fn provision(server: Server) -> Result<Provisioned, String> {
    if let Ok(url) = std::env::var(server.url_variable()) {
        return Ok(Provisioned {
            url,
            _container: None,
        });
    }
    if docker_answers_ping().await {
        return start_container(server).await;
    }
    Err(format!(
        "{}: no server: set {}={} or start a Docker engine",
        server.name(),
        server.url_variable(),
        server.example_url()
    ))
}

/// Whether a Docker engine answers `GET /_ping` on its socket within two seconds.
async fn docker_answers_ping() -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(str::to_owned))
        .unwrap_or_else(|| "/var/run/docker.sock".into());
    let ping = async {
        let mut stream = tokio::net::UnixStream::connect(&socket).await.ok()?;
        stream
            .write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            .await
            .ok()?;
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).await.ok()?;
        Some(String::from_utf8_lossy(&reply).ends_with("OK"))
    };
    matches!(
        tokio::time::timeout(std::time::Duration::from_secs(2), ping).await,
        Ok(Some(true))
    )
}

async fn start_container(server: Server) -> Result<Provisioned, String> {
    use testcontainers::runners::AsyncRunner;
    use testcontainers::ImageExt;
    let failed = |e: testcontainers::TestcontainersError| {
        format!(
            "{}: Docker answers, but the container did not start: {e}",
            server.name()
        )
    };
    let (url, container): (String, Box<dyn std::any::Any + Send + Sync>) = match server {
        Server::Mysql => {
            let c = testcontainers_modules::mysql::Mysql::default()
                .with_tag("8.4")
                .start()
                .await
                .map_err(failed)?;
            let port = c.get_host_port_ipv4(3306).await.map_err(failed)?;
            (format!("mysql://root@127.0.0.1:{port}/test"), Box::new(c))
        }
        Server::Redis => {
            let c = testcontainers_modules::redis::Redis::default()
                .with_tag("7.4")
                .start()
                .await
                .map_err(failed)?;
            let port = c.get_host_port_ipv4(6379).await.map_err(failed)?;
            (format!("redis://127.0.0.1:{port}"), Box::new(c))
        }
        Server::Postgres => {
            let c = testcontainers_modules::postgres::Postgres::default()
                .with_tag("16-alpine")
                .start()
                .await
                .map_err(failed)?;
            let port = c.get_host_port_ipv4(5432).await.map_err(failed)?;
            (
                format!("postgres://postgres:postgres@127.0.0.1:{port}/postgres"),
                Box::new(c),
            )
        }
    };
    Ok(Provisioned {
        url,
        _container: Some(container),
    })
}

/// A server backend as a fixture; the server is provisioned on first use and kept for the run.
pub struct ServerFixture {
    server: Server,
    provisioned: tokio::sync::OnceCell<Result<Provisioned, String>>,
    run: String,
    storages: AtomicUsize,
    /// The program that serves this backend from other processes (processes and crash tiers).
    served_by: Option<PathBuf>,
}

impl ServerFixture {
    pub fn new(server: Server) -> Self {
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
    pub fn at(server: Server, url: &str) -> Self {
        let fixture = ServerFixture::new(server);
        let provisioned = Ok(Provisioned {
            url: url.to_owned(),
            _container: None,
        });
        fixture
            .provisioned
            .set(provisioned)
            .unwrap_or_else(|_| unreachable!("a new cell is empty"));
        fixture
    }

    /// Names `program`, whose `serve --backend NAME --url URL` serves this backend from another
    /// process, and declares the processes capability.
    pub fn served_by(mut self, program: PathBuf) -> Self {
        self.served_by = Some(program);
        self
    }

    /// The server kind.
    pub fn server(&self) -> Server {
        self.server
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

    fn limits(&self) -> tokenstore_core::Limits {
        match self.server {
            Server::Mysql => tokenstore_mysql::MYSQL_LIMITS,
            Server::Postgres => tokenstore_postgres::POSTGRES_LIMITS,
            Server::Redis => tokenstore_core::Limits::default(),
        }
    }

    async fn storage(&self) -> Result<Box<dyn Storage>, tokenstore_suite::SetupError> {
        let url = self.url().await?;
        let n = self.storages.fetch_add(1, Ordering::Relaxed);
        Ok(Box::new(
            self.storage_with(url, format!("{}_{n}", self.run)),
        ))
    }
}

struct ServerStorage {
    server: Server,
    url: String,
    base: String,
    served_by: Option<PathBuf>,
    opened: Mutex<BTreeSet<String>>,
    /// The stores opened on this storage, to find their connections on the server.
    stores: Mutex<Vec<OpenedStore>>,
}

/// A store the storage opened, not kept alive by the storage.
enum OpenedStore {
    Mysql(Weak<tokenstore_mysql::MysqlStore>),
    Redis(Weak<tokenstore_redis::RedisStore>),
    Postgres(Weak<tokenstore_postgres::PostgresStore>),
}

/// How the connections of the storage's live stores are found on the server.
#[derive(Default)]
struct Tags {
    mysql_ids: Vec<u32>,
    labels: Vec<String>,
}

impl Tags {
    fn of(stores: &[OpenedStore]) -> Tags {
        let mut tags = Tags::default();
        for store in stores {
            match store {
                OpenedStore::Mysql(s) => {
                    if let Some(s) = s.upgrade() {
                        tags.mysql_ids.extend(s.connection_ids());
                    }
                }
                OpenedStore::Redis(s) => {
                    if let Some(s) = s.upgrade() {
                        tags.labels.push(s.connection_label().to_owned());
                    }
                }
                OpenedStore::Postgres(s) => {
                    if let Some(s) = s.upgrade() {
                        tags.labels.push(s.connection_label().to_owned());
                    }
                }
            }
        }
        tags
    }
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

    async fn connect(&self, name: &str) -> Result<Connected, StoreError> {
        Ok(match self.server {
            Server::Mysql => {
                Connected::Mysql(tokenstore_mysql::MysqlStore::open(&self.url, name).await?)
            }
            Server::Redis => {
                Connected::Redis(tokenstore_redis::RedisStore::open(&self.url, name).await?)
            }
            Server::Postgres => Connected::Postgres(
                tokenstore_postgres::PostgresStore::open(&self.url, name).await?,
            ),
        })
    }
}

enum Connected {
    Mysql(tokenstore_mysql::MysqlStore),
    Redis(tokenstore_redis::RedisStore),
    Postgres(tokenstore_postgres::PostgresStore),
}

#[async_trait]
impl Storage for ServerStorage {
    async fn open(&self, namespace: &str) -> Result<Arc<dyn TokenStore>, StoreError> {
        let name = self.name_of(namespace);
        let (store, opened): (Arc<dyn TokenStore>, OpenedStore) = match self.connect(&name).await? {
            Connected::Mysql(s) => {
                let s = Arc::new(s);
                let weak = Arc::downgrade(&s);
                (s, OpenedStore::Mysql(weak))
            }
            Connected::Redis(s) => {
                let s = Arc::new(s);
                let weak = Arc::downgrade(&s);
                (s, OpenedStore::Redis(weak))
            }
            Connected::Postgres(s) => {
                let s = Arc::new(s);
                let weak = Arc::downgrade(&s);
                (s, OpenedStore::Postgres(weak))
            }
        };
        self.stores.lock().expect("not poisoned").push(opened);
        Ok(store)
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
        let tags = Tags::of(&self.stores.lock().expect("not poisoned"));
        match self.server {
            Server::Mysql => crate::server_admin::kill_mysql(&self.url, &tags.mysql_ids).await,
            Server::Redis => crate::server_admin::kill_redis(&self.url, &tags.labels).await,
            Server::Postgres => crate::server_admin::kill_postgres(&self.url, &tags.labels).await,
        }
    }

    async fn remove(&self) -> Result<(), StoreError> {
        let names: Vec<String> = std::mem::take(&mut *self.opened.lock().expect("not poisoned"))
            .into_iter()
            .collect();
        for name in names {
            match self.connect(&name).await? {
                Connected::Mysql(s) => {
                    s.drop_tables().await?;
                    s.disconnect().await?;
                }
                Connected::Redis(s) => s.drop_namespace().await?,
                Connected::Postgres(s) => s.drop_tables().await?,
            }
        }
        Ok(())
    }
}
