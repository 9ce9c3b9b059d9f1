//! `redis`: each token a hash under the store's namespace and the same token as one JSON value
//! in the namespace's `:all` hash (for `get_tokens`), a set of ids, one set of ids per value of
//! each key field, and an INCR counter for fresh ids. Every call that reads more than one key
//! is a Lua script, so it is atomic and one round trip; every key starts with the namespace's hash
//! tag `{tokenstore:NAMESPACE}`, so a namespace lives in one Redis Cluster slot. A save writes only
//! what changes (`lua/save.lua`), and a namespace holds only what its tokens need however often
//! they are saved (`tests/footprint.rs`). `delete_tokens` removes the keys the namespace's tokens
//! name, and no other: never KEYS, never FLUSHDB.
//!
//! A lookup by a field value is one `SORT_RO` of the value's index set, which returns the fields of
//! the first id's hash: one command, no script (a script costs the server about 13 µs a call, the
//! `SORT_RO` about 5 µs, measured with `INFO commandstats` on Redis 7.0). A server that refuses it
//! (a Redis before 7.0; a Redis Cluster before 8.0, which denies `GET` patterns; a user whose ACL
//! does not grant every key's read) gets the same lookup from `lua/find.lua` from then on.
//!
//! The key order comes from `tokenstore_core` (the lookups passed to the scripts), and answers
//! are re-checked with its exact comparisons; the merge and the conflicts of a save run inside
//! `lua/save.lua`, because a save must be one atomic step on the server.
//!
//! The store writes on one multiplexed connection (to a Redis Cluster: one per node, the `server`
//! module), named with its [`RedisStore::connection_label`] (`CLIENT SETNAME`). On one server its
//! lookups each take a connection of their own, named the same (the `readers` module), which
//! spares them the multiplexer's hand-off; on a cluster they use the multiplexed connection. When
//! a call finds its connection lost (closed, reset, killed with `CLIENT KILL`, the server restarted, a cluster node
//! failed), the store drops it, connects again on the next call, and sends the failed call once
//! more when that cannot write twice (`tokenstore_retry::Resend`).

mod readers;
mod server;

pub use server::REPLICA_WAIT;

use readers::Readers;
use redis::{RedisResult, Script};
use redis_protocol::resp2::types::{BytesFrame, Resp2Frame};
use server::{Conn, ScriptCall, Server};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};
use tokenstore_core::{find_by_id_in, find_in, find_lookups, Candidates, Choices, Field, Result};
use tokenstore_core::{StoreError, Token, TokenStore};
use tokenstore_retry::{connection_label, with_retries, Resend};

/// The choices of the `redis` store: no fallback; missing-id deletes report NotFound.
pub const REDIS_CHOICES: Choices = Choices {
    grant_falls_back_to_refresh: false,
    delete_missing_reports_not_found: true,
    untyped_refusals: false,
};

static SAVE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/save.lua")));
static FIND: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/find.lua")));
static DELETE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/delete.lua")));
static CLEAR: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/clear.lua")));
static ALL: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/all.lua")));

type Attempt = tokenstore_retry::Attempt<redis::RedisError>;

/// The connection in use, and which one it is (connections are numbered as they are made).
struct Current {
    serial: u64,
    conn: Conn,
}

/// A token store on one namespace of a Redis server or a Redis Cluster.
pub struct RedisStore {
    server: Server,
    /// How many replicas acknowledge a write before the store does (`server::ScriptCall::run`).
    replicas: usize,
    current: Mutex<Option<Current>>,
    /// Held while connecting, so that concurrent calls that find no connection make one.
    connecting: tokio::sync::Mutex<u64>,
    /// Whether lookups by a field value are one `SORT_RO` (until the server refuses it once).
    sorted_lookups: AtomicBool,
    /// That `SORT_RO`'s `GET` patterns: each field of a token's hash, in [`Field::ALL`]'s order.
    field_patterns: [String; 10],
    /// The connections lookups read on (one server, not TLS); else they use the multiplexed one.
    readers: Option<Readers>,
    label: String,
    prefix: String,
}

/// The server refuses a read as sent (an unknown command, an option it denies, an ACL
/// refusal): its message.
struct Refused(String);

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`); the store's keys all start with
    /// `{tokenstore:NAMESPACE}`.
    pub async fn open(url: &str, namespace: &str) -> Result<Self> {
        let server = Server::one(url)
            .map_err(|e| StoreError::backend(format!("redis: bad URL {url:?}: {e}"), e))?;
        RedisStore::on(server, namespace).await
    }

    /// Connects to the Redis Cluster that the nodes at `urls` belong to (any of its nodes, as
    /// `redis://host:port`); the namespace lives in the slot of its hash tag. On a cluster whose
    /// every primary has a replica, a write is acknowledged once a replica holds it, waiting at
    /// most [`REPLICA_WAIT`] (else it answers a `Backend` error).
    pub async fn open_cluster(urls: &[&str], namespace: &str) -> Result<Self> {
        let server = Server::cluster(urls).map_err(|e| {
            StoreError::backend(format!("redis: bad cluster node URLs {urls:?}: {e}"), e)
        })?;
        RedisStore::on(server, namespace).await
    }

    async fn on(server: Server, namespace: &str) -> Result<Self> {
        tokenstore_core::sql::check_identifier(namespace)?;
        let label = connection_label("redis");
        let readers = match &server {
            Server::One(client) => Readers::of(client.get_connection_info(), &label),
            Server::Cluster(_) => None,
        };
        let mut store = RedisStore {
            server,
            replicas: 0,
            current: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(0),
            sorted_lookups: AtomicBool::new(true),
            field_patterns: field_patterns(&RedisStore::key_prefix(namespace)),
            readers,
            label,
            prefix: RedisStore::key_prefix(namespace),
        };
        let (_, mut conn) = store.connection().await.map_err(|attempt| match attempt {
            Attempt::Final(e) | Attempt::Lost(e) => e,
            Attempt::Retry(e) => backend("cannot connect")(e),
        })?;
        store.replicas = store
            .server
            .replicas_to_wait_for(&mut conn)
            .await
            .map_err(backend("cannot list the cluster's nodes"))?;
        Ok(store)
    }

    /// How many replicas acknowledge a write before the store answers it.
    pub fn replicas_waited_for(&self) -> usize {
        self.replicas
    }

    /// The store acknowledging a write once the primary holds it, without waiting for a replica:
    /// a write a failover can lose. For measuring what the wait costs.
    pub fn acknowledging_on_the_primary(mut self) -> Self {
        self.replicas = 0;
        self
    }

    /// The prefix of every key of `namespace`, its hash tag: `{tokenstore:NAMESPACE}`, so a
    /// namespace lives in one Redis Cluster slot.
    pub fn key_prefix(namespace: &str) -> String {
        format!("{{tokenstore:{namespace}}}")
    }

    /// The key of the hash of the token `id` in `namespace`.
    pub fn token_key(namespace: &str, id: &str) -> String {
        format!("{}:t:{id}", RedisStore::key_prefix(namespace))
    }

    /// The words of the one command a lookup of `field`'s `value` in `namespace` sends:
    /// `HGETALL` of the token's hash for [`Field::Id`], else the `SORT_RO` of the value's index
    /// set (on a server that runs it). For measuring the server's own client on the same query.
    pub fn lookup_command(namespace: &str, field: Field, value: &str) -> Vec<String> {
        if field == Field::Id {
            return vec!["HGETALL".into(), RedisStore::token_key(namespace, value)];
        }
        let prefix = RedisStore::key_prefix(namespace);
        let index = index_key(&prefix, field, value);
        let patterns = field_patterns(&prefix);
        sort_words(&index, &patterns)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// The client name of the store's connection (`CLIENT LIST` shows it), unique to the store.
    pub fn connection_label(&self) -> &str {
        &self.label
    }

    /// Removes every key of the namespace, the id counter included.
    pub async fn drop_namespace(&self) -> Result<()> {
        let mut clear = ScriptCall::new(&CLEAR, &self.prefix);
        clear.arg("drop");
        self.invoke::<i64>("cannot clear", Resend::Safe, &clear, Writes::Yes)
            .await
            .map(drop)
    }

    fn current(&self) -> MutexGuard<'_, Option<Current>> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The connection in use, made (and named) if there is none.
    async fn connection(&self) -> Result<(u64, Conn), Attempt> {
        if let Some(c) = &*self.current() {
            return Ok((c.serial, c.conn.clone()));
        }
        let mut made = self.connecting.lock().await;
        if let Some(c) = &*self.current() {
            return Ok((c.serial, c.conn.clone()));
        }
        let conn = self
            .server
            .connect(&self.label)
            .await
            .map_err(failed("cannot connect"))?;
        *made += 1;
        *self.current() = Some(Current {
            serial: *made,
            conn: conn.clone(),
        });
        Ok((*made, conn))
    }

    /// Drops connection `serial` if it is still the one in use: the next call makes a new one.
    fn discard(&self, serial: u64) {
        let mut current = self.current();
        if current.as_ref().is_some_and(|c| c.serial == serial) {
            *current = None;
        }
    }

    /// The stored token whose `field` is `value`, the lowest id first in the server's string
    /// order (`ALPHA`, as `lua/find.lua`'s `table.sort`): one `SORT_RO` of the value's index set,
    /// limited to its first id, that GETs each field of that id's hash (nil for an absent field).
    async fn sorted_lookup(
        &self,
        field: Field,
        value: &str,
    ) -> Result<std::result::Result<Option<Token>, Refused>> {
        let index = index_key(&self.prefix, field, value);
        let words = sort_words(&index, &self.field_patterns);
        Ok(self.read("cannot find", &words).await?.map(|values| {
            let mut token = Token::default();
            for (f, value) in Field::ALL.into_iter().zip(values) {
                token.set(f, value);
            }
            token.id.is_some().then_some(token)
        }))
    }

    /// The reply to a read whose reply is a list of values (nil for a missing one), as
    /// `SORT_RO`'s and `HGETALL`'s are: on a reader where the store has them, else on the
    /// multiplexed connection, sent once more on a fresh connection when the first is lost.
    async fn read(
        &self,
        what: &'static str,
        words: &[&str],
    ) -> Result<std::result::Result<Vec<Option<String>>, Refused>> {
        let Some(readers) = &self.readers else {
            let mut command = redis::cmd(words[0]);
            command.arg(&words[1..]);
            return self
                .send(what, Resend::Safe, |mut conn| {
                    let command = &command;
                    async move {
                        match command.query_async(&mut conn).await {
                            Ok(values) => Ok(Ok(Ok(values))),
                            Err(e) if refuses_the_command(&e) => {
                                Ok(Ok(Err(Refused(e.to_string()))))
                            }
                            Err(e) => Err(e),
                        }
                    }
                })
                .await;
        };
        with_retries("redis", Resend::Safe, || async {
            let reply = readers.ask(words).await.map_err(|e| {
                Attempt::Lost(StoreError::backend(format!("redis: {what}: {e}"), e))
            })?;
            values_of(what, reply).map_err(Attempt::Final)
        })
        .await
    }

    /// Runs a script on the store's connection, as [`RedisStore::send`]; one that writes waits
    /// for the replicas the store waits for.
    async fn invoke<T: redis::FromRedisValue>(
        &self,
        what: &'static str,
        resend: Resend,
        script: &ScriptCall,
        writes: Writes,
    ) -> Result<T> {
        let replicas = match writes {
            Writes::Yes => self.replicas,
            Writes::No => 0,
        };
        self.send(what, resend, |mut conn| async move {
            script.run(&mut conn, replicas).await
        })
        .await
    }

    /// Runs `call` on the store's connection (its outer error is Redis's, the inner the spec's
    /// answer); a lost connection is dropped, and the call sent again as `resend` allows.
    async fn send<T, F, Fut>(&self, what: &'static str, resend: Resend, call: F) -> Result<T>
    where
        F: Fn(Conn) -> Fut,
        Fut: Future<Output = RedisResult<Result<T>>>,
    {
        with_retries("redis", resend, || async {
            let (serial, conn) = self.connection().await?;
            match call(conn).await {
                Ok(answer) => answer.map_err(Attempt::Final),
                Err(e) => {
                    let attempt = failed(what)(e);
                    if matches!(attempt, Attempt::Lost(_)) {
                        self.discard(serial);
                    }
                    Err(attempt)
                }
            }
        })
        .await
    }
}

/// The key of the index set of the ids whose `field` is `value`.
fn index_key(prefix: &str, field: Field, value: &str) -> String {
    format!("{prefix}:i:{}:{value}", field.name())
}

/// The `SORT_RO` `GET` patterns of a namespace: each field of a token's hash, in
/// [`Field::ALL`]'s order.
fn field_patterns(prefix: &str) -> [String; 10] {
    Field::ALL.map(|f| format!("{prefix}:t:*->{}", f.name()))
}

/// The lookup of the first id of the index set `index` (in the server's string order, `ALPHA`)
/// that GETs each field of its hash by `patterns`.
fn sort_words<'a>(index: &'a str, patterns: &'a [String; 10]) -> Vec<&'a str> {
    let mut words = vec!["SORT_RO", index, "LIMIT", "0", "1", "ALPHA"];
    for pattern in patterns {
        words.extend(["GET", pattern.as_str()]);
    }
    words
}

/// Whether a script call writes (and so waits for replicas).
enum Writes {
    Yes,
    No,
}

/// A lost connection (I/O error, closed, reset, refused, timed out) may be sent again; a cluster
/// redirection or a cluster that is down (`MOVED`, `ASK`, `TRYAGAIN`, `CLUSTERDOWN`: the call
/// did not run) is tried again after a pause; anything else is final.
fn failed(what: &'static str) -> impl Fn(redis::RedisError) -> Attempt {
    move |e| {
        if e.is_cluster_error() {
            return Attempt::Retry(e);
        }
        let lost = e.is_io_error()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || e.is_timeout()
            || e.is_unrecoverable_error();
        if lost {
            Attempt::Lost(backend(what)(e))
        } else {
            Attempt::Final(backend(what)(e))
        }
    }
}

/// Whether the server answered that it does not run the command as sent: an unknown command,
/// a `SORT` option denied in cluster mode, or an ACL refusal.
fn refuses_the_command(e: &redis::RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    matches!(
        e.kind(),
        ErrorKind::Server(ServerErrorKind::ResponseError | ServerErrorKind::NoPerm)
    )
}

/// A read's reply as its list of values: `Refused` for a server error that refuses the command
/// (`ERR`, `NOPERM`), a `Backend` error for any other server error or a reply of another shape.
fn values_of(
    what: &str,
    reply: BytesFrame,
) -> Result<std::result::Result<Vec<Option<String>>, Refused>> {
    let unexpected = |shape: &str| StoreError::Backend {
        message: format!("redis: {what}: the server answered {shape}, not a list of values"),
        source: None,
    };
    let items = match reply {
        BytesFrame::Array(items) => items,
        BytesFrame::Error(message)
            if message.starts_with("ERR") || message.starts_with("NOPERM") =>
        {
            return Ok(Err(Refused(message.to_string())))
        }
        BytesFrame::Error(message) => {
            return Err(StoreError::Backend {
                message: format!("redis: {what}: {message}"),
                source: None,
            })
        }
        other => return Err(unexpected(&format!("{:?}", other.kind()))),
    };
    let values = items.into_iter().map(|item| match item {
        BytesFrame::BulkString(bytes) | BytesFrame::SimpleString(bytes) => {
            String::from_utf8(bytes.into()).map(Some).map_err(|e| {
                StoreError::backend(format!("redis: {what}: a value is not UTF-8: {e}"), e)
            })
        }
        BytesFrame::Null => Ok(None),
        other => Err(unexpected(&format!("a list holding {:?}", other.kind()))),
    });
    values.collect::<Result<_>>().map(Ok)
}

/// A token from its JSON value in the `:all` hash `all`: the hash's field/value list as an array.
fn decoded(all: &str, value: &str) -> Result<Token> {
    let flat: Vec<String> = serde_json::from_str(value).map_err(|e| StoreError::Backend {
        message: format!("redis: a value of {all} is not a token as this store writes it: {e}"),
        source: None,
    })?;
    Ok(token_of(flat))
}

/// A token from HGETALL's field/value list.
fn token_of(flat: Vec<String>) -> Token {
    let mut token = Token::default();
    for pair in flat.chunks_exact(2) {
        if let Some(field) = Field::ALL.into_iter().find(|f| f.name() == pair[0]) {
            token.set(field, Some(pair[1].clone()));
        }
    }
    token
}

fn backend(what: &'static str) -> impl Fn(redis::RedisError) -> StoreError {
    move |e| StoreError::backend(format!("redis: {what}: {e}"), e)
}

#[async_trait::async_trait]
impl TokenStore for RedisStore {
    async fn find_token(&self, probe: &Token) -> Result<Option<Token>> {
        let lookups = find_lookups(probe, REDIS_CHOICES);
        if lookups.is_empty() {
            return Ok(None);
        }
        if let ([(field, value)], true) = (
            lookups.as_slice(),
            self.sorted_lookups.load(Ordering::Relaxed),
        ) {
            match self.sorted_lookup(*field, value).await? {
                Ok(found) => {
                    return find_in(
                        &Candidates(found.into_iter().collect()),
                        probe,
                        REDIS_CHOICES,
                    )
                }
                Err(Refused(_)) => self.sorted_lookups.store(false, Ordering::Relaxed),
            }
        }
        let mut call = ScriptCall::new(&FIND, &self.prefix);
        for (field, value) in &lookups {
            call.arg(field.name()).arg(value);
        }
        let found: Option<Vec<String>> = self
            .invoke("cannot find", Resend::Safe, &call, Writes::No)
            .await?;
        find_in(
            &Candidates(found.map(token_of).into_iter().collect()),
            probe,
            REDIS_CHOICES,
        )
    }

    async fn save_token(&self, token: &mut Token) -> Result<()> {
        let normalized = token.clone().normalized();
        let lookups = find_lookups(&normalized, REDIS_CHOICES);
        let mut call = ScriptCall::new(&SAVE, &self.prefix);
        call.arg(lookups.len());
        for (field, value) in &lookups {
            call.arg(field.name()).arg(value);
        }
        for field in Field::ALL {
            call.arg(normalized.get(field).unwrap_or(""));
        }
        let resend = Resend::of_save(&normalized);
        let reply: Vec<String> = self
            .invoke("cannot save", resend, &call, Writes::Yes)
            .await?;
        match reply.as_slice() {
            [ok, id] if ok == "ok" => {
                token.id = Some(id.clone());
                Ok(())
            }
            [conflict, message] if conflict == "conflict" => {
                Err(StoreError::Conflict(message.clone()))
            }
            [invalid, field, message] if invalid == "invalid" => {
                let field = Field::ALL
                    .into_iter()
                    .find(|f| f.name() == field)
                    .unwrap_or(Field::RefreshToken);
                Err(StoreError::invalid(field, message.clone()))
            }
            other => Err(StoreError::Backend {
                message: format!("redis: the save script answered {other:?}"),
                source: None,
            }),
        }
    }

    async fn delete_token(&self, id: &str) -> Result<()> {
        let mut call = ScriptCall::new(&DELETE, &self.prefix);
        call.arg(id);
        let (script, replicas) = (&call, self.replicas);
        // The NotFound is an answer of the attempt, so that a resend's NotFound after a lost
        // connection is read as the lost connection's error (`Resend::Delete`).
        self.send("cannot delete", Resend::Delete, |mut conn| async move {
            let deleted: i64 = match script.run(&mut conn, replicas).await? {
                Ok(deleted) => deleted,
                Err(e) => return Ok(Err(e)),
            };
            if deleted == 0 && REDIS_CHOICES.delete_missing_reports_not_found {
                return Ok(Err(StoreError::NotFound { id: id.to_owned() }));
            }
            Ok(Ok(()))
        })
        .await
    }

    /// A snapshot in one step. Every token is kept, beside its hash, as one JSON value in the
    /// namespace's `:all` hash, written by the same script that writes the token, so the count
    /// of ids, the length of `:all` and its values come from one MULTI: one round trip, and no
    /// save or delete of another client lands between them (rule `concurrency.linearizable`).
    /// When the two counts differ (a namespace an earlier release wrote, which kept no `:all`),
    /// one Lua script reads every hash and writes `:all` afresh.
    async fn get_tokens(&self) -> Result<Vec<Token>> {
        let (ids, all) = (
            format!("{}:ids", self.prefix),
            format!("{}:all", self.prefix),
        );
        let (stored, held, values): (usize, usize, Vec<String>) = self
            .send("cannot read", Resend::Safe, |mut conn| {
                let (ids, all) = (&ids, &all);
                async move {
                    redis::pipe()
                        .atomic()
                        .scard(ids)
                        .hlen(all)
                        .hvals(all)
                        .query_async(&mut conn)
                        .await
                        .map(Ok)
                }
            })
            .await?;
        if stored == held {
            return values.iter().map(|value| decoded(&all, value)).collect();
        }
        let rebuild = ScriptCall::new(&ALL, &self.prefix);
        let hashes: Vec<Vec<String>> = self
            .invoke("cannot read", Resend::Safe, &rebuild, Writes::Yes)
            .await?;
        Ok(hashes.into_iter().map(token_of).collect())
    }

    async fn delete_tokens(&self) -> Result<()> {
        let mut clear = ScriptCall::new(&CLEAR, &self.prefix);
        clear.arg("keep");
        self.invoke::<i64>("cannot clear", Resend::Safe, &clear, Writes::Yes)
            .await
            .map(drop)
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Token> {
        let key = format!("{}:t:{id}", self.prefix);
        let flat = match self.read("cannot read", &["HGETALL", &key]).await? {
            Ok(flat) => flat,
            Err(Refused(message)) => {
                return Err(StoreError::Backend {
                    message: format!("redis: cannot read: {message}"),
                    source: None,
                })
            }
        };
        let flat = flat.into_iter().map(Option::unwrap_or_default).collect();
        find_by_id_in(
            &Candidates(
                vec![token_of(flat)]
                    .into_iter()
                    .filter(|t| t.id.is_some())
                    .collect(),
            ),
            id,
        )
    }
}
