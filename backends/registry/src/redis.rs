//! `redis`: one Redis server. Connections carry the store's client name and are killed with
//! `CLIENT KILL ID`; the container is `redis:7.4`; the floor is one `HGETALL` of the token's
//! known key. A benchmark loads through `save_token` from 16 tasks (the store's layout of hashes
//! and index sets is only written by its scripts).

use crate::local::{arg, Recipe};
use crate::provision::{admin_error, start_image};
use crate::{installed, LoadOp, NativeLoad};
use crate::{save_all, Backend, Cleanup, Container, Floor, Loaded, ServerBackend, ServerStore};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokenstore_core::{Field, Limits, StoreError, Token, TokenStore};
use tokenstore_redis::RedisStore;
use tokenstore_suite::StoreFixture;

pub(crate) struct Redis;
pub(crate) static REDIS: Redis = Redis;

#[async_trait]
impl ServerBackend for Redis {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn url_variable(&self) -> &'static str {
        "TOKENSTORE_REDIS_URL"
    }

    fn example_url(&self) -> &'static str {
        "redis://127.0.0.1:6379"
    }

    fn limits(&self) -> Limits {
        Limits::default()
    }

    async fn start_container(&self) -> Result<(String, Container), String> {
        let url = |port| format!("redis://127.0.0.1:{port}");
        start_image(
            "redis",
            testcontainers_modules::redis::Redis::default(),
            "7.4",
            6379,
            url,
        )
        .await
    }

    async fn open(&self, url: &str, name: &str) -> Result<Arc<dyn ServerStore>, StoreError> {
        Ok(Arc::new(RedisStore::open(url, name).await?))
    }

    fn local(&self) -> Option<&'static dyn Recipe> {
        Some(&LocalRedis)
    }

    /// Kills the connections whose client name is one of `tags`.
    async fn kill(&self, url: &str, tags: &[String]) -> Result<usize, StoreError> {
        kill_named(url, tags).await
    }

    /// `redis-benchmark` on the URL's database, user and password, sending the one command the
    /// store's lookup sends (find:
    /// [`RedisStore::lookup_command`], `HGETALL` of the sample's hash by id, the `SORT_RO` of the
    /// field value's index set otherwise), or `HSET` of one field of the sample's hash (save: a
    /// stricter floor than the store's save script).
    fn native_load(
        &self,
        url: &str,
        name: &str,
        sample: &Token,
        op: LoadOp,
        clients: usize,
        seconds: f64,
    ) -> Option<NativeLoad> {
        let program = installed("/usr/bin/redis-benchmark")?;
        let info = redis::IntoConnectionInfo::into_connection_info(url).ok()?;
        let (host, port) = match info.addr() {
            redis::ConnectionAddr::Tcp(host, port) => (host.clone(), *port),
            _ => return None,
        };
        let key = RedisStore::token_key(name, sample.id.as_deref()?);
        let lookup = match op {
            LoadOp::Find(field) => RedisStore::lookup_command(name, field, sample.get(field)?),
            LoadOp::Save => Vec::new(),
        };
        let requests = (seconds * 15_000.0 * clients.min(4) as f64).max(10_000.0) as usize;
        let mut command: Vec<String> = [program, "-h", &host, "-p", &port.to_string(), "-q"]
            .map(str::to_owned)
            .to_vec();
        command.extend([
            "-c".into(),
            clients.to_string(),
            "-n".into(),
            requests.to_string(),
        ]);
        let settings = info.redis_settings();
        if settings.db() != 0 {
            command.extend(["--dbnum".into(), settings.db().to_string()]);
        }
        if let Some(user) = settings.username() {
            command.extend(["--user".into(), user.to_owned()]);
        }
        if let Some(password) = settings.password() {
            command.extend(["-a".into(), password.to_owned()]);
        }
        match op {
            LoadOp::Find(_) => command.extend(lookup),
            LoadOp::Save => {
                command.extend(["HSET".into(), key, "access_token".into(), "native".into()])
            }
        }
        Some(NativeLoad {
            tool: "redis-benchmark",
            command,
            per_second: Box::new(|out| {
                let line = out
                    .split(['\r', '\n'])
                    .rfind(|l| l.contains("requests per second"))?;
                let before = line.split(" requests per second").next()?;
                before.split_whitespace().last()?.parse().ok()
            }),
            files: None,
        })
    }
}

/// Kills, on the server at `url`, the connections whose client name is one of `tags`.
pub(crate) async fn kill_named(url: &str, tags: &[String]) -> Result<usize, StoreError> {
    kill_listed(url, "name", &|name| tags.iter().any(|t| t == name)).await
}

/// Kills, on the server at `url`, the connections whose client address (`addr` of `CLIENT
/// LIST`) is one of `clients`.
pub(crate) async fn kill_clients(
    url: &str,
    clients: &[std::net::SocketAddr],
) -> Result<usize, StoreError> {
    kill_listed(url, "addr", &|addr| {
        clients.iter().any(|c| c.to_string() == addr)
    })
    .await
}

/// Kills, on the server at `url`, the clients of `CLIENT LIST` whose field `key` is `wanted`.
async fn kill_listed(
    url: &str,
    key: &str,
    wanted: &(dyn Fn(&str) -> bool + Sync),
) -> Result<usize, StoreError> {
    let client = redis::Client::open(url).map_err(admin_error("redis", "bad URL"))?;
    let mut admin = client
        .get_multiplexed_async_connection()
        .await
        .map_err(admin_error("redis", "cannot connect"))?;
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut admin)
        .await
        .map_err(admin_error("redis", "cannot list the clients"))?;
    let mut killed = 0;
    for id in client_ids_where(&list, key, wanted) {
        let n: usize = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(id)
            .query_async(&mut admin)
            .await
            .map_err(admin_error("redis", "cannot kill"))?;
        killed += n;
    }
    Ok(killed)
}

/// `redis-server` with an append-only file synced at every write, so a restart keeps the data.
struct LocalRedis;

#[async_trait]
impl Recipe for LocalRedis {
    fn binaries(&self) -> &'static [&'static str] {
        &["/usr/bin/redis-server"]
    }

    fn url(&self, port: u16) -> String {
        format!("redis://127.0.0.1:{port}")
    }

    fn launch(&self, dir: &Path, _: &Path, port: u16, log: &Path) -> (&'static str, Vec<String>) {
        let args = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            &arg(dir),
            "--logfile",
            &arg(log),
            "--daemonize",
            "no",
        ];
        ("/usr/bin/redis-server", args.map(str::to_owned).to_vec())
    }

    async fn answers(&self, port: u16) -> bool {
        let answer = async {
            let client = redis::Client::open(self.url(port)).ok()?;
            let mut conn = client.get_multiplexed_async_connection().await.ok()?;
            let pong: String = redis::cmd("PING").query_async(&mut conn).await.ok()?;
            Some(pong == "PONG")
        };
        answer.await == Some(true)
    }
}

/// The ids of the `CLIENT LIST` lines (`id=7 addr=... name=NAME ...`) whose field `key` is
/// `wanted`.
fn client_ids_where<'a>(
    list: &'a str,
    key: &'a str,
    wanted: &'a (dyn Fn(&str) -> bool + Sync),
) -> impl Iterator<Item = &'a str> {
    list.lines().filter_map(move |line| {
        let field = |key: &str| {
            line.split(' ')
                .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        };
        if field(key).is_some_and(wanted) {
            field("id")
        } else {
            None
        }
    })
}

#[async_trait]
impl ServerStore for RedisStore {
    fn into_store(self: Arc<Self>) -> Arc<dyn TokenStore> {
        self
    }

    fn connection_tags(&self) -> Vec<String> {
        vec![self.connection_label().to_owned()]
    }

    async fn drop_namespace(&self) -> Result<(), StoreError> {
        RedisStore::drop_namespace(self).await
    }
}

#[async_trait]
impl Backend for Redis {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn fixture(&self, program: Option<PathBuf>) -> Box<dyn StoreFixture> {
        crate::server::fixture(&REDIS, program)
    }

    fn server(&self) -> Option<&'static dyn ServerBackend> {
        Some(&REDIS)
    }

    async fn load(
        &self,
        url: &str,
        _: &Path,
        name: &str,
        tokens: &[Token],
    ) -> Result<Loaded, String> {
        let store = Arc::new(
            RedisStore::open(url, name)
                .await
                .map_err(crate::failed("redis"))?,
        );
        save_concurrently(store.clone(), tokens.to_vec())
            .await
            .map_err(crate::failed("redis"))?;
        let client = redis::Client::open(url).map_err(|e| e.to_string())?;
        let conn = client
            .get_connection_manager()
            .await
            .map_err(|e| e.to_string())?;
        Ok(Loaded {
            store: store.clone(),
            floor: Some(Box::new(KnownKey {
                conn,
                namespace: name.to_owned(),
            })),
            cleanup: Some(Box::new(DropNamespace(store))),
        })
    }
}

/// Loads through `save_token` from 16 tasks at once.
async fn save_concurrently(store: Arc<RedisStore>, tokens: Vec<Token>) -> Result<(), StoreError> {
    let chunks: Vec<Vec<Token>> = tokens
        .chunks(tokens.len().div_ceil(16).max(1))
        .map(<[Token]>::to_vec)
        .collect();
    let tasks: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let store = store.clone();
            tokio::spawn(async move { save_all(&*store, &chunk).await })
        })
        .collect();
    for task in tasks {
        task.await.map_err(|e| StoreError::Backend {
            message: e.to_string(),
            source: None,
        })??;
    }
    Ok(())
}

/// The floor: `HGETALL` of the token's key, which a lookup by id knows.
struct KnownKey {
    conn: redis::aio::ConnectionManager,
    namespace: String,
}

#[async_trait]
impl Floor for KnownKey {
    async fn lookup(&self, _: Field, _: &str, id: &str) -> Result<bool, String> {
        let fields: Vec<String> = redis::cmd("HGETALL")
            .arg(RedisStore::token_key(&self.namespace, id))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| e.to_string())?;
        Ok(!fields.is_empty())
    }

    /// `HSET` of the access token in the token's hash.
    async fn write(&self, _: &str, id: &str, access_token: &str) -> Result<bool, String> {
        let _: i64 = redis::cmd("HSET")
            .arg(RedisStore::token_key(&self.namespace, id))
            .arg("access_token")
            .arg(access_token)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| e.to_string())?;
        Ok(true)
    }

    /// `PING`.
    async fn round_trip(&self) -> Result<bool, String> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| e.to_string())?;
        Ok(true)
    }
}

struct DropNamespace(Arc<RedisStore>);

#[async_trait]
impl Cleanup for DropNamespace {
    async fn cleanup(self: Box<Self>) {
        let _ = self.0.drop_namespace().await;
    }
}

#[cfg(test)]
mod tests {
    use super::client_ids_where;

    #[test]
    fn client_list_lines_are_matched_by_exact_name() {
        let list = "id=3 addr=127.0.0.1:5 laddr=x fd=8 name=ts-a age=1\n\
                    id=4 addr=127.0.0.1:6 laddr=x fd=9 name=ts-ab age=1\n\
                    id=5 addr=127.0.0.1:7 laddr=x fd=10 name= age=1\n";
        let labels = vec!["ts-a".to_owned()];
        let named = |name: &str| labels.iter().any(|l| l == name);
        assert_eq!(
            client_ids_where(list, "name", &named).collect::<Vec<_>>(),
            ["3"]
        );
    }
}
