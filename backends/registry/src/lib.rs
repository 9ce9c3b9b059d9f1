//! The registry of the kit's backends: [`BACKENDS`] lists each once, and each module says
//! everything the kit needs to know about its backend, in one place: its name, capabilities and
//! limits, its fixture for the suite, for a server backend how a run gets the server (a URL
//! variable or a pinned container) and how its connections are found and killed, and for the
//! benchmarks how it is loaded in bulk and what its raw floor is, and how its local binaries run
//! a private server ([`local`]). The CLI, the server
//! provisioning, the admin kills and the benchmarks iterate this list and name no backend.
//!
//! A new server backend is a backend crate, a module here implementing [`ServerBackend`] and
//! [`Backend`], and its entry in [`BACKENDS`].

mod clients;
mod dir;
mod file;
mod list;
pub mod local;
mod memory;
mod mysql;
mod postgres;
mod provision;
mod redis;
pub mod redis_cluster;
mod server;
mod sqlite;

pub use clients::ServerKiller;
pub use server::ServerFixture;

use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokenstore_core::{Field, Limits, StoreError, Token, TokenStore};
use tokenstore_suite::{DirFixture, StoreFixture};

/// Every backend compiled in, the embedded ones first, in the order reports list them.
pub static BACKENDS: [&dyn Backend; 9] = [
    &memory::MEMORY,
    &list::LIST,
    &sqlite::SQLITE,
    &sqlite::SQLITE_MEMORY,
    &file::FILE,
    &mysql::MYSQL,
    &redis::REDIS,
    &postgres::POSTGRES,
    &redis_cluster::REDIS_CLUSTER,
];

/// The backend called `name`.
pub fn backend(name: &str) -> Option<&'static dyn Backend> {
    BACKENDS.iter().copied().find(|b| b.name() == name)
}

/// The server backend called `name`.
pub fn server(name: &str) -> Option<&'static dyn ServerBackend> {
    backend(name).and_then(|b| b.server())
}

/// The fixture of the backend called `name` when it keeps its storage in a directory, served
/// from other processes by `program serve --backend NAME` when `program` is given.
pub fn dir_fixture(name: &str, program: Option<PathBuf>) -> Option<DirFixture> {
    backend(name)?.dir_fixture(program)
}

/// Every backend's name, in [`BACKENDS`] order.
pub fn names() -> Vec<&'static str> {
    BACKENDS.iter().map(|b| b.name()).collect()
}

/// The embedded backends' names: what `run` checks by default.
pub fn embedded() -> Vec<&'static str> {
    BACKENDS
        .iter()
        .filter(|b| b.server().is_none())
        .map(|b| b.name())
        .collect()
}

/// One backend of the kit.
#[async_trait]
pub trait Backend: Send + Sync {
    fn name(&self) -> &'static str;

    /// The fixture the suite checks. With `program`, a backend whose storage other processes
    /// can share is served from them by `program serve --backend NAME` (the processes and crash
    /// tiers).
    fn fixture(&self, program: Option<PathBuf>) -> Box<dyn StoreFixture> {
        let fixture = self.dir_fixture(program);
        Box::new(fixture.expect("a backend that is no server keeps its storage in a directory"))
    }

    /// The fixture of a backend that keeps its storage in a directory (or nowhere).
    fn dir_fixture(&self, program: Option<PathBuf>) -> Option<DirFixture> {
        let _ = program;
        None
    }

    /// The server it needs, for a server backend.
    fn server(&self) -> Option<&'static dyn ServerBackend> {
        None
    }

    /// Whether the benchmarks measure it.
    fn benchmarked(&self) -> bool {
        true
    }

    /// The largest store the criterion benches load, when a larger one takes minutes per bench.
    fn largest_bench_size(&self) -> Option<usize> {
        None
    }

    /// The backend holding `tokens`, loaded in bulk (as fast as the storage allows, not through
    /// `save_token` unless its layout is only reachable that way), on storage called `name` in
    /// `dir` or, for a server backend, on the server at `url`; with its raw floor on the same
    /// data when it has one.
    async fn load(
        &self,
        url: &str,
        dir: &Path,
        name: &str,
        tokens: &[Token],
    ) -> Result<Loaded, String>;
}

/// A container a run started, stopped when dropped.
pub type Container = Box<dyn std::any::Any + Send + Sync>;

/// A backend loaded for a benchmark.
pub struct Loaded {
    pub store: Arc<dyn TokenStore>,
    pub floor: Option<Box<dyn Floor>>,
    /// Removes what the load created on a server.
    pub cleanup: Option<Box<dyn Cleanup>>,
}

/// The cheapest lookup a backend's driver allows, on the same data as the store.
#[async_trait]
pub trait Floor: Send + Sync {
    /// Looks up the token whose `field` is `value` (whose id is `id`): whether it was found.
    async fn lookup(&self, field: Field, value: &str, id: &str) -> Result<bool, String>;

    /// The driver's cheapest round trip to the server on the floor's connection (`PING`, the
    /// protocol's ping, an empty query), which reads no data: what the network, the runtime and
    /// the driver cost by themselves. False when there is no server to ping.
    async fn round_trip(&self) -> Result<bool, String> {
        Ok(false)
    }

    /// The bare write a save that updates is measured beside: the access token of the token
    /// whose user name is `user_name` (whose id is `id`) set to `access_token` in one statement
    /// or command (`UPDATE ... SET access_token = ? WHERE user_name = ?`, `HSET` of its hash),
    /// with no merge, no index kept and no lock of the kit's own. False when the floor has none.
    async fn write(&self, user_name: &str, id: &str, access_token: &str) -> Result<bool, String> {
        let _ = (user_name, id, access_token);
        Ok(false)
    }
}

/// What removes a benchmark's storage from a server.
#[async_trait]
pub trait Cleanup: Send + Sync {
    async fn cleanup(self: Box<Self>);
}

/// A server backend: how a run gets the server, opens stores on it, and kills their
/// connections.
#[async_trait]
pub trait ServerBackend: Send + Sync {
    fn name(&self) -> &'static str;

    /// The variable that gives the server's URL (`TOKENSTORE_MYSQL_URL`).
    fn url_variable(&self) -> &'static str;

    /// A URL to show in the line that says how to provide the server.
    fn example_url(&self) -> &'static str;

    fn limits(&self) -> Limits;

    /// Starts the pinned container image: the URL of its server, and the container, which
    /// stops when dropped.
    async fn start_container(&self) -> Result<(String, Container), String>;

    /// For a server the run starts from local binaries when no URL is given, before it tries
    /// Docker (a Redis Cluster, which has no pinned image): its URL and what stops it when
    /// dropped, or why it could not start. `None` for the others.
    async fn start_locally(&self) -> Option<Result<(String, Container), String>> {
        None
    }

    /// Whether a run without a URL can start the server itself (its binaries are here), or
    /// must find it through Docker.
    fn starts_locally(&self) -> bool {
        false
    }

    /// Opens a store on the namespace (table, key prefix) `name` of the server at `url`.
    async fn open(&self, url: &str, name: &str) -> Result<Arc<dyn ServerStore>, StoreError>;

    /// Kills, from an admin connection to `url`, the connections `tags` name (what
    /// [`ServerStore::connection_tags`] gave), and returns how many it killed.
    async fn kill(&self, url: &str, tags: &[String]) -> Result<usize, StoreError>;

    /// How to run the server from its local binaries ([`local::LocalServer`]), if it can be.
    fn local(&self) -> Option<&'static dyn local::Recipe> {
        None
    }

    /// The server's own load tool doing `op` on the token `sample` of the storage `name` (as
    /// [`Backend::load`] left it) at `url`, from `clients` connections, for about `seconds`;
    /// `None` when the server has no such tool or it is not on this machine.
    fn native_load(
        &self,
        url: &str,
        name: &str,
        sample: &Token,
        op: LoadOp,
        clients: usize,
        seconds: f64,
    ) -> Option<NativeLoad> {
        let _ = (url, name, sample, op, clients, seconds);
        None
    }
}

/// What a load benchmark does many times a second.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoadOp {
    /// A lookup of a token by the value of one field (its user name in a load benchmark).
    Find(Field),
    /// An update of one field of a token chosen by its user name.
    Save,
}

impl LoadOp {
    /// What a load benchmark runs: a lookup by user name, and an update.
    pub const ALL: [LoadOp; 2] = [LoadOp::Find(Field::UserName), LoadOp::Save];

    pub fn name(self) -> &'static str {
        match self {
            LoadOp::Find(_) => "find",
            LoadOp::Save => "save",
        }
    }
}

/// Reads operations per second from a load tool's standard output.
pub type RateReader = Box<dyn Fn(&str) -> Option<f64> + Send + Sync>;

/// A server's own load tool, ready to run on the data a benchmark loaded.
pub struct NativeLoad {
    /// The tool's name (`pgbench`).
    pub tool: &'static str,
    /// The program and its arguments.
    pub command: Vec<String>,
    /// Operations per second, read from the tool's standard output.
    pub per_second: RateReader,
    /// Files the command reads (a pgbench script), removed when this drops.
    pub files: Option<tempfile::TempDir>,
}

/// `value` as a single-quoted SQL string literal.
fn sql_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `program` when it is installed at that absolute path.
fn installed(program: &'static str) -> Option<&'static str> {
    Path::new(program).exists().then_some(program)
}

/// A store on a server, as the kit drives it beyond the six calls.
#[async_trait]
pub trait ServerStore: TokenStore {
    fn into_store(self: Arc<Self>) -> Arc<dyn TokenStore>;

    /// What names this store's connections on the server: a client name or `application_name`,
    /// or connection ids.
    fn connection_tags(&self) -> Vec<String>;

    /// Removes the namespace (its tables or keys) and closes the store's connections.
    async fn drop_namespace(&self) -> Result<(), StoreError>;
}

/// The fields the raw floors look tokens up by: the id and the lookup keys.
const FLOOR_FIELDS: [Field; 5] = [
    Field::Id,
    tokenstore_core::KEY_FIELDS[0],
    tokenstore_core::KEY_FIELDS[1],
    tokenstore_core::KEY_FIELDS[2],
    tokenstore_core::KEY_FIELDS[3],
];

/// `StoreError` as the one-line `String` the benchmarks report, after the backend's name.
fn failed(name: &'static str) -> impl Fn(StoreError) -> String {
    move |e| format!("{name}: {e}")
}

/// Saves `tokens` one by one through `save_token`.
async fn save_all(store: &dyn TokenStore, tokens: &[Token]) -> Result<(), StoreError> {
    for t in tokens {
        store.save_token(&mut t.clone()).await?;
    }
    Ok(())
}
