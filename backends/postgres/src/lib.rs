//! `postgres`: tokens in a PostgreSQL table with the SDK's column names, `COLLATE "C"` key
//! columns (byte-exact comparison), a unique index on `user_name`, hash indexes on the three token
//! columns (equality only, any length), and fresh ids from a sequence.
//!
//! The six calls, the save's steps and the fresh ids are `tokenstore-sql`'s; this file is the
//! SQL and the driver. Every save first takes the token's per-key advisory locks
//! (`pg_advisory_xact_lock`, `tokenstore_sql::lock_keys`), so saves that share a value take
//! turns and saves of different users never wait for each other. A find is one query. A save of
//! a stored token designated by its id or user name is one pipelined round trip: `BEGIN`, the
//! locks, `UPDATE ... RETURNING id`, `COMMIT`. Any other save is one transaction: the locks
//! pipelined with one query that fetches (and locks) every token the decision depends on,
//! `tokenstore_core::plan_save` decides, and one `INSERT ... ON CONFLICT` writes. A
//! transaction that loses a race (unique violation, deadlock) is retried. A call whose
//! connection is lost (terminated by an administrator, the server restarted) is sent once more on
//! a fresh connection when that cannot write twice (`tokenstore_retry::Resend`); the broken
//! connection is dropped, not returned to the pool. Every connection carries the store's
//! [`PostgresStore::connection_label`] as its `application_name`.

use deadpool_postgres::GenericClient;
use deadpool_postgres::{Config, Object, Pool, Runtime};
use std::time::Duration;
use tokenstore_core::sql::{check_identifier, where_any, COLUMNS};
use tokenstore_core::{Candidates, Choices, Field, Limits, Result, StoreError, Token, TokenStore};
use tokenstore_retry::connection_label;
use tokenstore_sql::{merge_set, merge_values, save_in, SaveTx, SqlDriver};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

/// The choices of the `postgres` store: no fallback; missing-id deletes report NotFound.
pub const POSTGRES_CHOICES: Choices = Choices {
    grant_falls_back_to_refresh: false,
    delete_missing_reports_not_found: true,
    untyped_refusals: false,
};

/// PostgreSQL text cannot hold NUL; a btree index entry holds about 2,700 bytes, so the two
/// btree-indexed columns hold 600 characters (4 bytes each at most).
pub const POSTGRES_LIMITS: Limits = Limits {
    max_chars: &[(Field::Id, 600), (Field::UserName, 600)],
    forbidden_chars: &[('\0', "a NUL character (PostgreSQL text cannot hold it)")],
};

/// A token store on one table of a PostgreSQL database.
pub struct PostgresStore {
    pool: Pool,
    table: String,
    timeout: Duration,
    label: String,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/database`) and creates the table `table` and
    /// its id sequence `table_ids` when they do not exist; opening and every call wait at most
    /// [`tokenstore_sql::DEFAULT_TIMEOUT`] for the server.
    pub async fn open(url: &str, table: &str) -> Result<Self> {
        Self::open_with_timeout(url, table, tokenstore_sql::DEFAULT_TIMEOUT).await
    }

    /// [`PostgresStore::open`], with opening and every call waiting at most `timeout` for the
    /// server (then a Backend error; the call may or may not have taken effect).
    pub async fn open_with_timeout(url: &str, table: &str, timeout: Duration) -> Result<Self> {
        tokenstore_sql::within("postgres", timeout, Self::connect(url, table, timeout)).await
    }

    async fn connect(url: &str, table: &str, timeout: Duration) -> Result<Self> {
        check_identifier(table)?;
        let label = connection_label("postgres");
        let config = Config {
            url: Some(url.to_owned()),
            application_name: Some(label.clone()),
            ..Config::default()
        };
        let pool = config
            .create_pool(Some(Runtime::Tokio1), NoTls)
            .map_err(|e| StoreError::backend(format!("postgres: bad URL {url:?}: {e}"), e))?;
        let store = PostgresStore {
            pool,
            table: table.to_owned(),
            label,
            timeout,
        };
        let client = store.client().await.map_err(final_error)?;
        let t = table;
        client
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {t} (
                    id TEXT COLLATE \"C\" PRIMARY KEY, user_name TEXT COLLATE \"C\", client_id TEXT,
                    client_secret TEXT, refresh_token TEXT COLLATE \"C\", access_token TEXT COLLATE \"C\",
                    grant_token TEXT COLLATE \"C\", expiry_time TEXT, redirect_url TEXT, api_domain TEXT);
                 CREATE UNIQUE INDEX IF NOT EXISTS {t}_user_name ON {t} (user_name);
                 CREATE INDEX IF NOT EXISTS {t}_refresh_token ON {t} USING hash (refresh_token);
                 CREATE INDEX IF NOT EXISTS {t}_access_token ON {t} USING hash (access_token);
                 CREATE INDEX IF NOT EXISTS {t}_grant_token ON {t} USING hash (grant_token);
                 CREATE SEQUENCE IF NOT EXISTS {t}_ids;"
            ))
            .await
            .map_err(backend("cannot create the token table"))?;
        Ok(store)
    }

    /// Writes a whole token: an `INSERT` that fails on an existing id, or, for an update, an
    /// `INSERT ... ON CONFLICT (id) DO UPDATE`.
    async fn write_row(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        row: &Token,
        update: bool,
    ) -> Result<(), tokio_postgres::Error> {
        let placeholders = (1..=10)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut sql = format!(
            "INSERT INTO {} ({COLUMNS}) VALUES ({placeholders})",
            self.table
        );
        if update {
            let set = Field::ALL[1..]
                .iter()
                .map(|f| format!("{0} = EXCLUDED.{0}", f.name()))
                .collect::<Vec<_>>();
            sql.push_str(&format!(
                " ON CONFLICT (id) DO UPDATE SET {}",
                set.join(", ")
            ));
        }
        let values = Field::ALL.map(|f| row.get(f));
        let params: Vec<&(dyn ToSql + Sync)> =
            values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let stmt = tx.prepare_cached(&sql).await?;
        tx.execute(&stmt, &params).await.map(drop)
    }

    /// The `application_name` of every connection of this store, unique to it (see
    /// `pg_stat_activity`).
    pub fn connection_label(&self) -> &str {
        &self.label
    }

    /// Drops the table and its sequence: the end of a namespace.
    pub async fn drop_tables(&self) -> Result<()> {
        let t = &self.table;
        self.client()
            .await
            .map_err(final_error)?
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS {t}; DROP SEQUENCE IF EXISTS {t}_ids;"
            ))
            .await
            .map_err(backend("cannot drop the table"))
    }

    /// A connection from the pool, which drops idle ones the server closed when it hands them
    /// out.
    async fn client(&self) -> Result<Object, Attempt> {
        self.pool.get().await.map_err(|e| {
            let lost = matches!(&e, deadpool_postgres::PoolError::Backend(b) if connection_lost(b));
            let error = StoreError::backend(
                format!(
                    "postgres: cannot connect: {}",
                    tokenstore_core::with_causes(&e)
                ),
                e,
            );
            if lost {
                Attempt::Lost(error)
            } else {
                Attempt::Final(error)
            }
        })
    }

    async fn select(
        &self,
        client: &impl GenericClient,
        lookups: &[(Field, String)],
        lock: bool,
    ) -> Result<Candidates, tokio_postgres::Error> {
        let (clause, params) = where_any(lookups, |i| format!("${}", i + 1));
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE {clause}{}",
            self.table,
            if lock { " FOR UPDATE" } else { "" }
        );
        let params: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let stmt = client.prepare_cached(&sql).await?;
        let rows = client.query(&stmt, &params).await?;
        Ok(Candidates(rows.iter().map(row_token).collect()))
    }
}

/// Takes the transaction-level advisory locks `$1` (`int8[]`), in the array's order.
const LOCK_KEYS: &str =
    "SELECT pg_advisory_xact_lock(k) FROM unnest($1::int8[]) WITH ORDINALITY AS l(k, i) ORDER BY i";

/// A save's transaction on PostgreSQL: the per-key locks are transaction-level advisory locks,
/// taken in ascending order and pipelined with the select (sent together, one round trip; the
/// select's snapshot is taken once the locks are held); fresh ids come from the table's sequence.
struct PostgresTx<'a, 't> {
    store: &'a PostgresStore,
    tx: &'a deadpool_postgres::Transaction<'t>,
}

#[async_trait::async_trait]
impl SaveTx for PostgresTx<'_, '_> {
    type Error = tokio_postgres::Error;

    async fn lock_and_select(
        &mut self,
        keys: &[i64],
        lookups: &[(Field, String)],
    ) -> Result<Candidates, tokio_postgres::Error> {
        // Prepared first, so that the lock's execute goes out before the select's.
        let lock = self.tx.prepare_cached(LOCK_KEYS).await?;
        let params: [&(dyn ToSql + Sync); 1] = [&keys];
        let (_, candidates) = futures::try_join!(
            self.tx.execute(&lock, &params),
            self.store.select(self.tx, lookups, true)
        )?;
        Ok(candidates)
    }

    async fn update(&mut self, merged: &Token) -> Result<(), tokio_postgres::Error> {
        self.store.write_row(self.tx, merged, true).await
    }

    async fn insert(&mut self, new: &Token) -> Result<(), tokio_postgres::Error> {
        self.store.write_row(self.tx, new, false).await
    }

    async fn next_id(&mut self) -> Result<u64, tokio_postgres::Error> {
        let sql = format!("SELECT nextval('{}_ids')", self.store.table);
        let next = self.tx.prepare_cached(&sql).await?;
        let id: i64 = self.tx.query_one(&next, &[]).await?.get(0);
        Ok(id as u64)
    }

    async fn id_taken(&mut self, id: &str) -> Result<bool, tokio_postgres::Error> {
        let sql = format!("SELECT 1 FROM {} WHERE id = $1", self.store.table);
        let taken = self.tx.prepare_cached(&sql).await?;
        Ok(self.tx.query_opt(&taken, &[&id]).await?.is_some())
    }

    async fn skip_numeric_ids(&mut self) -> Result<(), tokio_postgres::Error> {
        let t = &self.store.table;
        let past = format!(
            "SELECT setval('{t}_ids', GREATEST(nextval('{t}_ids'), \
             (SELECT COALESCE(MAX(id::numeric), 0) FROM {t} \
              WHERE id ~ '^[0-9]{{1,18}}$')::bigint))"
        );
        self.tx.execute(&past, &[]).await.map(drop)
    }
}

#[async_trait::async_trait]
impl SqlDriver for PostgresStore {
    type Error = tokio_postgres::Error;
    const NAME: &'static str = "postgres";
    const CHOICES: Choices = POSTGRES_CHOICES;
    const LIMITS: Limits = POSTGRES_LIMITS;

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn table(&self) -> &str {
        &self.table
    }

    async fn select(&self, lookups: &[(Field, String)]) -> Result<Candidates, Attempt> {
        let client = self.client().await?;
        let answer = PostgresStore::select(self, &client, lookups, false).await;
        answer.map_err(|e| failed(&self.pool, client, "cannot read", e))
    }

    async fn select_all(&self) -> Result<Vec<Token>, Attempt> {
        let client = self.client().await?;
        let sql = format!("SELECT {COLUMNS} FROM {}", self.table);
        let answer = client.query(&sql, &[]).await;
        let rows = answer.map_err(|e| failed(&self.pool, client, "cannot read", e))?;
        Ok(rows.iter().map(row_token).collect())
    }

    async fn delete(&self, id: Option<&str>) -> Result<u64, Attempt> {
        let client = self.client().await?;
        let answer = match id {
            Some(id) => {
                let sql = format!("DELETE FROM {} WHERE id = $1", self.table);
                client.execute(&sql, &[&id]).await
            }
            // In a transaction that first waits for every write in flight and holds off new
            // ones: a bare `DELETE` under READ COMMITTED deletes the rows of its snapshot and
            // the newer versions of rows updated since, but not rows inserted since, so its
            // effect could belong to no one moment.
            // Sent as one string, which the server runs up to its first error and no further:
            // a failed lock (a deadlock with a save, a table gone) skips the COMMIT too, so the
            // transaction is ended here before the connection serves another call (a ROLLBACK
            // outside a transaction is only a warning).
            None => {
                let t = &self.table;
                let sql =
                    format!("BEGIN; LOCK TABLE {t} IN EXCLUSIVE MODE; DELETE FROM {t}; COMMIT");
                let answer = client.batch_execute(&sql).await.map(|()| 0);
                if answer.is_err() {
                    let _ = client.batch_execute("ROLLBACK").await;
                }
                answer
            }
        };
        answer.map_err(|e| failed(&self.pool, client, "cannot delete", e))
    }

    async fn save(&self, token: &Token, keys: &[i64]) -> Result<String, Attempt> {
        let mut client = self.client().await?;
        let saved = async {
            let tx = client.transaction().await?;
            let mut save = PostgresTx {
                store: self,
                tx: &tx,
            };
            // The transaction ends here, whatever happened: one dropped unfinished is rolled
            // back only when the connection's task next runs, holding the table's save lock
            // until then. A refused save wrote nothing, so its commit changes nothing.
            match save_in(&mut save, keys, token, POSTGRES_CHOICES).await {
                Ok(decided) => {
                    tx.commit().await?;
                    Ok(decided)
                }
                Err(e) => {
                    let _ = tx.rollback().await;
                    Err(e)
                }
            }
        }
        .await;
        match saved {
            Ok(decided) => decided.map_err(Attempt::Final),
            Err(e) => Err(failed(&self.pool, client, "cannot save", e)),
        }
    }

    async fn update_in_place(
        &self,
        by: (Field, &str),
        token: &Token,
        keys: &[i64],
    ) -> Result<Option<String>, Attempt> {
        let client = self.client().await?;
        let sql = format!(
            "UPDATE {} SET {} WHERE {} = $10 RETURNING id",
            self.table,
            merge_set(|i| format!("${}", i + 1)),
            by.0.name()
        );
        let values = merge_values(token);
        let mut params: Vec<&(dyn ToSql + Sync)> =
            values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        params.push(&by.1);
        // Both prepared first: then the four requests go out in order, in one round trip.
        let lock_params: [&(dyn ToSql + Sync); 1] = [&keys];
        let answer: Result<Option<Row>, tokio_postgres::Error> = async {
            let (lock, update) = futures::try_join!(
                client.prepare_cached(LOCK_KEYS),
                client.prepare_cached(&sql)
            )?;
            let (_, _, row, _) = futures::try_join!(
                client.batch_execute("BEGIN"),
                client.execute(&lock, &lock_params),
                client.query_opt(&update, &params),
                client.batch_execute("COMMIT"),
            )?;
            Ok(row)
        }
        .await;
        if answer.is_err() {
            // A failed statement leaves the transaction aborted, and the pipelined COMMIT is
            // not always there to end it: a refused update (another token's user name) left
            // pooled connections in a failed transaction. Ended here, whatever happened.
            let _ = client.batch_execute("ROLLBACK").await;
        }
        match answer {
            Ok(row) => Ok(row.map(|row| row.get(0))),
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
                Ok(None)
            }
            Err(e) => Err(failed(&self.pool, client, "cannot save", e)),
        }
    }
}

type Attempt = tokenstore_retry::Attempt<tokio_postgres::Error>;

/// What a call that failed on `client` reports: a lost race (unique violation from a concurrent
/// insert, deadlock, serialization failure) is retried, and so is a call that found its
/// connection inside a failed transaction (the connection is dropped); a lost connection is
/// dropped from the pool and the call sent again when that is safe; anything else is final. A lost connection
/// also empties `pool` of its idle ones: whatever closed this one (a server restart, an
/// administrator's kill of the store's sessions) has likely closed them too, before their
/// client noticed, and the call sent again must not meet one of them.
fn failed(pool: &Pool, client: Object, what: &'static str, e: tokio_postgres::Error) -> Attempt {
    use tokio_postgres::error::SqlState;
    let raced = e.code().is_some_and(|c| {
        *c == SqlState::UNIQUE_VIOLATION
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::T_R_SERIALIZATION_FAILURE
    });
    if raced {
        Attempt::Retry(e)
    } else if e.code() == Some(&SqlState::IN_FAILED_SQL_TRANSACTION) {
        // The connection was inside a transaction that had failed before this call's first
        // statement (a call dropped half way by its timeout, its ROLLBACK never sent): nothing
        // of this call ran. The connection leaves the pool, and the call is sent again.
        drop(Object::take(client));
        Attempt::Retry(e)
    } else if connection_lost(&e) {
        drop(Object::take(client));
        pool.retain(|_, _| false);
        Attempt::Lost(backend(what)(e))
    } else {
        Attempt::Final(backend(what)(e))
    }
}

/// Whether `e` says the connection itself failed: closed, an I/O error, or the server's word
/// that it terminated the session or is shutting down or starting up (SQLSTATE class 57P).
fn connection_lost(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
    let shutdown = e.code().is_some_and(|c| {
        *c == SqlState::ADMIN_SHUTDOWN
            || *c == SqlState::CRASH_SHUTDOWN
            || *c == SqlState::CANNOT_CONNECT_NOW
    });
    e.is_closed() || io || shutdown
}

/// The error a one-off call (creating or dropping the table) reports.
fn final_error(attempt: Attempt) -> StoreError {
    tokenstore_sql::final_error("postgres", attempt)
}

fn row_token(row: &Row) -> Token {
    let mut token = Token::default();
    for (i, field) in Field::ALL.into_iter().enumerate() {
        token.set(field, row.get::<_, Option<String>>(i));
    }
    token
}

fn backend(what: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError {
    tokenstore_sql::backend("postgres", what)
}

#[async_trait::async_trait]
impl TokenStore for PostgresStore {
    async fn find_token(&self, probe: &Token) -> Result<Option<Token>> {
        tokenstore_sql::find_token(self, probe).await
    }

    async fn save_token(&self, token: &mut Token) -> Result<()> {
        tokenstore_sql::save_token(self, token).await
    }

    async fn delete_token(&self, id: &str) -> Result<()> {
        tokenstore_sql::delete_token(self, id).await
    }

    async fn get_tokens(&self) -> Result<Vec<Token>> {
        tokenstore_sql::get_tokens(self).await
    }

    async fn delete_tokens(&self) -> Result<()> {
        tokenstore_sql::delete_tokens(self).await
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Token> {
        tokenstore_sql::find_token_by_id(self, id).await
    }
}
