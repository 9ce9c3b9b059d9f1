//! `redis`: each token a hash under the store's namespace, a set of ids, one set of ids per value
//! of each key field, and an INCR counter for fresh ids. Every call that reads more than one key
//! is a Lua script, so it is atomic and one round trip; every key starts with the namespace's hash
//! tag `{tokenstore:NAMESPACE}`, so a namespace lives in one Redis Cluster slot. `delete_tokens`
//! removes the keys the namespace recorded, and no other: never KEYS, never FLUSHDB.
//!
//! The key order comes from `tokenstore_core` (the lookups passed to the scripts), and answers
//! are re-checked with its exact comparisons; the merge and the conflicts of a save run inside
//! `lua/save.lua`, because a save must be one atomic step on the server.

use redis::aio::ConnectionManager;
use redis::Script;
use std::sync::LazyLock;
use tokenstore_core::{find_by_id_in, find_in, find_lookups, Candidates, Choices, Field, Result};
use tokenstore_core::{StoreError, Token, TokenStore};

/// The choices of the `redis` store: no fallback; missing-id deletes report NotFound.
pub const REDIS_CHOICES: Choices = Choices {
    grant_falls_back_to_refresh: false,
    delete_missing_reports_not_found: true,
};

static SAVE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/save.lua")));
static FIND: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/find.lua")));
static DELETE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/delete.lua")));
static CLEAR: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/clear.lua")));

/// A token store on one namespace of a Redis server.
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`); the store's keys all start with
    /// `{tokenstore:NAMESPACE}`.
    pub async fn open(url: &str, namespace: &str) -> Result<Self> {
        tokenstore_core::sql::check_identifier(namespace)?;
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::backend(format!("redis: bad URL {url:?}: {e}"), e))?;
        let conn = client
            .get_connection_manager()
            .await
            .map_err(backend("cannot connect"))?;
        Ok(RedisStore {
            conn,
            prefix: format!("{{tokenstore:{namespace}}}"),
        })
    }

    /// Removes every key of the namespace, the id counter included.
    pub async fn drop_namespace(&self) -> Result<()> {
        CLEAR
            .key(&self.prefix)
            .arg("drop")
            .invoke_async::<i64>(&mut self.conn.clone())
            .await
            .map_err(backend("cannot clear"))?;
        Ok(())
    }
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
        let mut call = FIND.key(&self.prefix);
        for (field, value) in &lookups {
            call.arg(field.name()).arg(value);
        }
        let found: Option<Vec<String>> = call
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(backend("cannot find"))?;
        find_in(
            &Candidates(found.map(token_of).into_iter().collect()),
            probe,
            REDIS_CHOICES,
        )
    }

    async fn save_token(&self, token: &mut Token) -> Result<()> {
        let normalized = token.clone().normalized();
        let lookups = find_lookups(&normalized, REDIS_CHOICES);
        let mut call = SAVE.key(&self.prefix);
        call.arg(lookups.len());
        for (field, value) in &lookups {
            call.arg(field.name()).arg(value);
        }
        for field in Field::ALL {
            call.arg(normalized.get(field).unwrap_or(""));
        }
        let reply: Vec<String> = call
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(backend("cannot save"))?;
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
        let deleted: i64 = DELETE
            .key(&self.prefix)
            .arg(id)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(backend("cannot delete"))?;
        if deleted == 0 && REDIS_CHOICES.delete_missing_reports_not_found {
            return Err(StoreError::NotFound { id: id.to_owned() });
        }
        Ok(())
    }

    /// One SMEMBERS, then the hashes in pipelined batches: a single script over a big store
    /// would hold the server for as long as it runs. Each token is read whole (one HGETALL); a
    /// token deleted meanwhile is left out.
    async fn get_tokens(&self) -> Result<Vec<Token>> {
        let mut conn = self.conn.clone();
        let ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(format!("{}:ids", self.prefix))
            .query_async(&mut conn)
            .await
            .map_err(backend("cannot read"))?;
        let mut tokens = Vec::with_capacity(ids.len());
        for batch in ids.chunks(1000) {
            let mut pipe = redis::pipe();
            for id in batch {
                pipe.cmd("HGETALL").arg(format!("{}:t:{id}", self.prefix));
            }
            let hashes: Vec<Vec<String>> = pipe
                .query_async(&mut conn)
                .await
                .map_err(backend("cannot read"))?;
            tokens.extend(hashes.into_iter().filter(|h| !h.is_empty()).map(token_of));
        }
        Ok(tokens)
    }

    async fn delete_tokens(&self) -> Result<()> {
        CLEAR
            .key(&self.prefix)
            .arg("keep")
            .invoke_async::<i64>(&mut self.conn.clone())
            .await
            .map_err(backend("cannot clear"))?;
        Ok(())
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Token> {
        let flat: Vec<String> = redis::cmd("HGETALL")
            .arg(format!("{}:t:{id}", self.prefix))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(backend("cannot read"))?;
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
