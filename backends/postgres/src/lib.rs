//! `postgres`: tokens in a PostgreSQL table with the SDK's column names, `COLLATE "C"` key
//! columns (byte-exact comparison), a unique index on `user_name`, hash indexes on the three token
//! columns (equality only, any length), and fresh ids from a sequence.
//!
//! A find is one query. A save is one transaction: one query fetches (and locks) every token the
//! decision depends on, `tokenstore_core::plan_save` decides, and one `INSERT ... ON CONFLICT`
//! writes. A transaction that loses a race (unique violation, deadlock) is retried. A call whose
//! connection is lost (terminated by an administrator, the server restarted) is sent once more on
//! a fresh connection when that cannot write twice (`tokenstore_retry::Resend`); the broken
//! connection is dropped, not returned to the pool. Every connection carries the store's
//! [`PostgresStore::connection_label`] as its `application_name`.

use deadpool_postgres::GenericClient;
use deadpool_postgres::{Config, Object, Pool, Runtime};
use tokenstore_core::sql::{check_identifier, where_any, COLUMNS};
use tokenstore_core::{find_by_id_in, find_in, find_lookups, plan_save, save_lookups};
use tokenstore_core::{
    Candidates, Choices, Field, Limits, Result, SavePlan, StoreError, Token, TokenStore,
};
use tokenstore_retry::{connection_label, with_retries, Resend};
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
    label: String,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/database`) and creates the table `table` and
    /// its id sequence `table_ids` when they do not exist.
    pub async fn open(url: &str, table: &str) -> Result<Self> {
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
            let error = StoreError::backend(format!("postgres: cannot connect: {e}"), e);
            if lost {
                Attempt::Lost(error)
            } else {
                Attempt::Final(error)
            }
        })
    }

    /// Runs one statement on one connection: the rows it returns.
    async fn try_query(
        &self,
        what: &'static str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, Attempt> {
        let client = self.client().await?;
        let answer = client.query(sql, params).await;
        answer.map_err(|e| failed(client, what, e))
    }

    /// Runs one statement that writes, on one connection: how many rows it changed.
    async fn try_execute(
        &self,
        what: &'static str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, Attempt> {
        let client = self.client().await?;
        let answer = client.execute(sql, params).await;
        answer.map_err(|e| failed(client, what, e))
    }

    /// The tokens `lookups` designate, read on one connection.
    async fn try_select(&self, lookups: &[(Field, String)]) -> Result<Candidates, Attempt> {
        let client = self.client().await?;
        let answer = self.select(&client, lookups, false).await;
        answer.map_err(|e| failed(client, "cannot read", e))
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

    async fn try_save(&self, token: &Token) -> Result<String, Attempt> {
        let mut client = self.client().await?;
        match self.save_in_transaction(&mut client, token).await {
            Ok(decided) => decided.map_err(Attempt::Final),
            Err(e) => Err(failed(client, "cannot save", e)),
        }
    }

    /// One save in one transaction: the outer error is the database's, the inner the spec's.
    async fn save_in_transaction(
        &self,
        client: &mut Object,
        token: &Token,
    ) -> Result<Result<String>, tokio_postgres::Error> {
        let tx = client.transaction().await?;
        // Saves to one table take turns (the lock mode conflicts with itself, not with reads):
        // under READ COMMITTED a save that found no token for its key could otherwise insert
        // beside a token another save inserted for that key meanwhile, a state no order of the
        // two saves gives. The lock and the select are pipelined: sent in this order, one round
        // trip.
        let lock_sql = format!("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE", self.table);
        let lookups = save_lookups(token, POSTGRES_CHOICES);
        let ((), candidates) = futures::try_join!(
            tx.batch_execute(&lock_sql),
            self.select(&tx, &lookups, true)
        )?;
        let plan = match plan_save(&candidates, token, POSTGRES_CHOICES) {
            Ok(plan) => plan,
            Err(refused) => return Ok(Err(refused)),
        };
        let t = &self.table;
        let row = match plan {
            SavePlan::Update { merged, changed } => {
                if changed {
                    self.write_row(&tx, &merged, true).await?;
                }
                merged
            }
            SavePlan::Insert(mut new) => {
                let mut jumped = false;
                while new.id.is_none() {
                    let next = tx
                        .prepare_cached(&format!("SELECT nextval('{t}_ids')"))
                        .await?;
                    let id = tx.query_one(&next, &[]).await?.get::<_, i64>(0).to_string();
                    let taken = tx
                        .prepare_cached(&format!("SELECT 1 FROM {t} WHERE id = $1"))
                        .await?;
                    if tx.query_opt(&taken, &[&id]).await?.is_none() {
                        new.id = Some(id);
                    } else if !jumped {
                        // Ids written by others: move the sequence past the largest numeric id
                        // once rather than probing them one by one.
                        jumped = true;
                        let past = format!(
                            "SELECT setval('{t}_ids', GREATEST(nextval('{t}_ids'), \
                             (SELECT COALESCE(MAX(id::numeric), 0) FROM {t} \
                              WHERE id ~ '^[0-9]{{1,18}}$')::bigint))"
                        );
                        tx.execute(&past, &[]).await?;
                    }
                }
                self.write_row(&tx, &new, false).await?;
                new
            }
        };
        tx.commit().await?;
        Ok(Ok(row.id.unwrap_or_default()))
    }
}

type Attempt = tokenstore_retry::Attempt<tokio_postgres::Error>;

/// What a call that failed on `client` reports: a lost race (unique violation from a concurrent
/// insert, deadlock, serialization failure) is retried, a lost connection is dropped from the
/// pool and the call sent again when that is safe; anything else is final.
fn failed(client: Object, what: &'static str, e: tokio_postgres::Error) -> Attempt {
    use tokio_postgres::error::SqlState;
    let raced = e.code().is_some_and(|c| {
        *c == SqlState::UNIQUE_VIOLATION
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::T_R_SERIALIZATION_FAILURE
    });
    if raced {
        Attempt::Retry(e)
    } else if connection_lost(&e) {
        drop(Object::take(client));
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
    match attempt {
        Attempt::Final(e) | Attempt::Lost(e) => e,
        Attempt::Retry(e) => backend("lost a race")(e),
    }
}

fn row_token(row: &Row) -> Token {
    let mut token = Token::default();
    for (i, field) in Field::ALL.into_iter().enumerate() {
        token.set(field, row.get::<_, Option<String>>(i));
    }
    token
}

fn backend(what: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError {
    move |e| StoreError::backend(format!("postgres: {what}: {e}"), e)
}

#[async_trait::async_trait]
impl TokenStore for PostgresStore {
    async fn find_token(&self, probe: &Token) -> Result<Option<Token>> {
        let mut lookups = find_lookups(probe, POSTGRES_CHOICES);
        lookups.retain(|(field, value)| POSTGRES_LIMITS.holds(*field, value));
        if lookups.is_empty() {
            return Ok(None);
        }
        let candidates =
            with_retries("postgres", Resend::Safe, || self.try_select(&lookups)).await?;
        find_in(&candidates, probe, POSTGRES_CHOICES)
    }

    async fn save_token(&self, token: &mut Token) -> Result<()> {
        POSTGRES_LIMITS.check(token)?;
        let resend = Resend::of_save(token);
        let id = with_retries("postgres", resend, || self.try_save(token)).await?;
        token.id = Some(id);
        Ok(())
    }

    async fn delete_token(&self, id: &str) -> Result<()> {
        if !POSTGRES_LIMITS.holds(Field::Id, id) {
            return Err(StoreError::NotFound { id: id.to_owned() });
        }
        let sql = format!("DELETE FROM {} WHERE id = $1", self.table);
        with_retries("postgres", Resend::Delete, || async {
            let deleted = self.try_execute("cannot delete", &sql, &[&id]).await?;
            if deleted == 0 && POSTGRES_CHOICES.delete_missing_reports_not_found {
                return Err(Attempt::Final(StoreError::NotFound { id: id.to_owned() }));
            }
            Ok(())
        })
        .await
    }

    async fn get_tokens(&self) -> Result<Vec<Token>> {
        let sql = format!("SELECT {COLUMNS} FROM {}", self.table);
        let rows = with_retries("postgres", Resend::Safe, || {
            self.try_query("cannot read", &sql, &[])
        })
        .await?;
        Ok(rows.iter().map(row_token).collect())
    }

    async fn delete_tokens(&self) -> Result<()> {
        let sql = format!("DELETE FROM {}", self.table);
        with_retries("postgres", Resend::Safe, || {
            self.try_execute("cannot delete", &sql, &[])
        })
        .await
        .map(drop)
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Token> {
        if !POSTGRES_LIMITS.holds(Field::Id, id) {
            return Err(StoreError::NotFound { id: id.to_owned() });
        }
        let lookups = [(Field::Id, id.to_owned())];
        let candidates =
            with_retries("postgres", Resend::Safe, || self.try_select(&lookups)).await?;
        find_by_id_in(&candidates, id)
    }
}
