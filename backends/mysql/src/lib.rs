//! `mysql`: tokens in a MySQL 8 or MariaDB 10.11+ table with the column names and order of the
//! SDK's `oauthtoken` table, so that the official DBStore and this store can share a table, and
//! with what that schema lacks for the spec: byte-exact, no-pad collations (case and trailing
//! spaces matter), a unique key on `user_name`, indexes on the three token columns, lengths that
//! hold real tokens (longer values are refused, never truncated), and fresh ids from a counter
//! row, unique under concurrent inserts.
//!
//! The six calls, the save's steps and the fresh ids are `tokenstore-sql`'s; this file is the
//! SQL and the driver. A find is one query. A save of a stored token designated by its id is one
//! `UPDATE` (by its user name: the id's `SELECT`, then an `UPDATE` of that id while it still has
//! that user name), which also locks the lock rows of the values it writes. Any other save is
//! one transaction: the token's per-key locks (rows of the `table_locks` table, [`LOCK_STRIPES`]
//! of them at most), one query that fetches (and locks) every token the decision depends on,
//! `tokenstore_core::plan_save`, one write; saves of different users never wait for each other. A transaction
//! that loses a race (deadlock, duplicate key) is retried from the start. A call whose connection
//! is lost (killed, reset, the server restarted) is sent once more on a fresh connection when that
//! cannot write twice (`tokenstore_retry::Resend`); the pool drops dead idle connections when it
//! hands them out. The store remembers the server ids of its connections
//! ([`MysqlStore::connection_ids`]), so that they can be told apart from other clients'.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Pool, Row, TxOpts, Value};
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;
use tokenstore_core::sql::{check_identifier, where_any, COLUMNS};
use tokenstore_core::{Candidates, Choices, Field, Limits, Result, StoreError, Token, TokenStore};
use tokenstore_sql::{merge_set, merge_values, save_in, SaveTx, SqlDriver};

/// The choices of the `mysql` store: no fallback; missing-id deletes are silent (as the DBStore).
pub const MYSQL_CHOICES: Choices = Choices {
    grant_falls_back_to_refresh: false,
    delete_missing_reports_not_found: false,
    untyped_refusals: false,
};

/// Column lengths: ids and user names 255 characters, token columns 768 (the longest an index
/// holds in utf8mb4), the other columns TEXT.
pub const MYSQL_LIMITS: Limits = Limits {
    max_chars: &[
        (Field::Id, 255),
        (Field::UserName, 255),
        (Field::RefreshToken, 768),
        (Field::AccessToken, 768),
        (Field::GrantToken, 768),
        (Field::ClientId, 16_383),
        (Field::ClientSecret, 16_383),
        (Field::ExpiryTime, 16_383),
        (Field::RedirectUrl, 16_383),
        (Field::ApiDomain, 16_383),
    ],
    forbidden_chars: &[],
};

/// How many lock rows a table's saves share at most: a save's lock keys ([`tokenstore_sql::lock_keys`])
/// taken modulo this, so the lock table stays small; two values on one row only make their saves
/// take turns.
pub const LOCK_STRIPES: i64 = 1 << 16;

/// How many connection ids a store remembers: the newest, far more than its pool holds at once.
const REMEMBERED_CONNECTIONS: usize = 1024;

/// A token store on one table of a MySQL or MariaDB database.
pub struct MysqlStore {
    pool: Pool,
    table: String,
    connection_ids: Mutex<BTreeSet<u32>>,
    timeout: Duration,
}

impl MysqlStore {
    /// Connects to `url` (`mysql://user:password@host:port/database`) and creates the table
    /// `table`, its id counter `table_ids` and its save locks `table_locks` when they do not exist; opening and every call
    /// wait at most [`tokenstore_sql::DEFAULT_TIMEOUT`] for the server.
    pub async fn open(url: &str, table: &str) -> Result<Self> {
        Self::open_with_timeout(url, table, tokenstore_sql::DEFAULT_TIMEOUT).await
    }

    /// [`MysqlStore::open`], with opening and every call waiting at most `timeout` for the
    /// server (then a Backend error; the call may or may not have taken effect).
    pub async fn open_with_timeout(url: &str, table: &str, timeout: Duration) -> Result<Self> {
        tokenstore_sql::within("mysql", timeout, Self::connect(url, table, timeout)).await
    }

    async fn connect(url: &str, table: &str, timeout: Duration) -> Result<Self> {
        check_identifier(table)?;
        let opts = pool_opts(url)
            .map_err(|e| StoreError::backend(format!("mysql: bad URL {url:?}: {e}"), e))?;
        let pool = Pool::new(opts);
        let store = MysqlStore {
            pool,
            table: table.to_owned(),
            connection_ids: Mutex::new(BTreeSet::new()),
            timeout,
        };
        store.create_tables().await?;
        Ok(store)
    }

    /// The server ids (`CONNECTION_ID()`, the `ID` of `information_schema.PROCESSLIST`) of the
    /// connections this store has used, the newest [`REMEMBERED_CONNECTIONS`] of them; some may
    /// be closed by now.
    pub fn connection_ids(&self) -> Vec<u32> {
        self.ids().iter().copied().collect()
    }

    fn ids(&self) -> std::sync::MutexGuard<'_, BTreeSet<u32>> {
        self.connection_ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A connection from the pool (which drops idle ones the server closed), remembered by id.
    async fn conn(&self) -> Result<Conn, Attempt> {
        let conn = self
            .pool
            .get_conn()
            .await
            .map_err(attempt_error("cannot connect"))?;
        let mut ids = self.ids();
        ids.insert(conn.id());
        if ids.len() > REMEMBERED_CONNECTIONS {
            ids.pop_first();
        }
        Ok(conn)
    }

    async fn create_tables(&self) -> Result<()> {
        let mut conn = self.conn().await.map_err(final_error)?;
        let version: Option<String> = conn
            .query_first("SELECT VERSION()")
            .await
            .map_err(backend("cannot read the version"))?;
        // Byte-exact and NO PAD: `alice` and `alice ` are two user names.
        let collation = if version.unwrap_or_default().contains("MariaDB") {
            "utf8mb4_nopad_bin"
        } else {
            "utf8mb4_0900_bin"
        };
        let t = &self.table;
        conn.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS `{t}` (
                id VARCHAR(255) NOT NULL, user_name VARCHAR(255) NULL, client_id TEXT NULL,
                client_secret TEXT NULL, refresh_token VARCHAR(768) NULL, access_token VARCHAR(768) NULL,
                grant_token VARCHAR(768) NULL, expiry_time TEXT NULL, redirect_url TEXT NULL,
                api_domain TEXT NULL, PRIMARY KEY (id), UNIQUE KEY {t}_user_name (user_name),
                KEY {t}_refresh_token (refresh_token), KEY {t}_access_token (access_token),
                KEY {t}_grant_token (grant_token)
             ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={collation}"
        ))
        .await
        .map_err(backend("cannot create the token table"))?;
        conn.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS `{t}_ids` (n BIGINT UNSIGNED NOT NULL) ENGINE=InnoDB"
        ))
        .await
        .map_err(backend("cannot create the id counter"))?;
        conn.query_drop(format!("INSERT INTO `{t}_ids` (n) SELECT 0 FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM `{t}_ids`)"))
            .await
            .map_err(backend("cannot create the id counter"))?;
        conn.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS `{t}_locks` (k BIGINT NOT NULL PRIMARY KEY) ENGINE=InnoDB"
        ))
        .await
        .map_err(backend("cannot create the save locks"))?;
        Ok(())
    }

    /// Drops the table, its counter and its save locks: the end of a namespace.
    pub async fn drop_tables(&self) -> Result<()> {
        let t = &self.table;
        let mut conn = self.conn().await.map_err(final_error)?;
        conn.query_drop(format!(
            "DROP TABLE IF EXISTS `{t}`, `{t}_ids`, `{t}_locks`"
        ))
        .await
        .map_err(backend("cannot drop the tables"))
    }

    /// Closes every connection of the store; it cannot be used afterwards.
    pub async fn disconnect(&self) -> Result<()> {
        self.pool
            .clone()
            .disconnect()
            .await
            .map_err(backend("cannot disconnect"))
    }

    async fn select(
        &self,
        conn: &mut impl Queryable,
        lookups: &[(Field, String)],
        lock: bool,
    ) -> Result<Candidates, Attempt> {
        let (clause, params) = where_any(lookups, |_| "?".into());
        let sql = format!(
            "SELECT {COLUMNS} FROM `{}` WHERE {clause}{}",
            self.table,
            if lock { " FOR UPDATE" } else { "" }
        );
        let rows: Vec<Row> = conn
            .exec(sql, params)
            .await
            .map_err(attempt_error("cannot read the token table"))?;
        Ok(Candidates(rows.into_iter().map(row_token).collect()))
    }
}

/// A save's transaction on MySQL: the per-key locks are rows of `table_locks`, written (and so
/// locked) by one `INSERT ... ON DUPLICATE KEY UPDATE`; the counter row is locked and read when
/// the save first needs a fresh id, counts on in memory, and is written back with the insert
/// that used it.
struct MysqlTx<'a, 'c> {
    store: &'a MysqlStore,
    tx: &'a mut mysql_async::Transaction<'c>,
    /// The counter row as read (`None` before the first fresh id), and as counted on since.
    counter_read: Option<u64>,
    counter: u64,
}

#[async_trait::async_trait]
impl SaveTx for MysqlTx<'_, '_> {
    type Error = Attempt;

    async fn lock_and_select(
        &mut self,
        keys: &[i64],
        lookups: &[(Field, String)],
    ) -> Result<Candidates, Attempt> {
        let rows = lock_rows(keys);
        if !rows.is_empty() {
            let values = vec!["(?)"; rows.len()].join(", ");
            let sql = format!(
                "INSERT INTO `{}_locks` (k) VALUES {values} ON DUPLICATE KEY UPDATE k = k",
                self.store.table
            );
            self.tx
                .exec_drop(sql, rows)
                .await
                .map_err(attempt_error("cannot save"))?;
        }
        self.store.select(self.tx, lookups, true).await
    }

    async fn update(&mut self, merged: &Token) -> Result<(), Attempt> {
        let set = Field::ALL[1..]
            .iter()
            .map(|f| format!("{} = ?", f.name()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut params = values(merged)[1..].to_vec();
        params.push(Value::from(merged.id.clone()));
        let sql = format!("UPDATE `{}` SET {set} WHERE id = ?", self.store.table);
        self.tx
            .exec_drop(sql, params)
            .await
            .map_err(attempt_error("cannot save"))
    }

    async fn insert(&mut self, new: &Token) -> Result<(), Attempt> {
        let t = &self.store.table;
        if self.counter_read.is_some_and(|read| read != self.counter) {
            self.tx
                .exec_drop(format!("UPDATE `{t}_ids` SET n = ?"), (self.counter,))
                .await
                .map_err(attempt_error("cannot save"))?;
        }
        let placeholders = ["?"; 10].join(", ");
        self.tx
            .exec_drop(
                format!("INSERT INTO `{t}` ({COLUMNS}) VALUES ({placeholders})"),
                values(new).to_vec(),
            )
            .await
            .map_err(attempt_error("cannot save"))
    }

    async fn next_id(&mut self) -> Result<u64, Attempt> {
        if self.counter_read.is_none() {
            let t = &self.store.table;
            let read = self
                .tx
                .query_first(format!("SELECT n FROM `{t}_ids` FOR UPDATE"))
                .await
                .map_err(attempt_error("cannot save"))?
                .unwrap_or(0);
            self.counter_read = Some(read);
            self.counter = self.counter.max(read);
        }
        self.counter += 1;
        Ok(self.counter)
    }

    async fn id_taken(&mut self, id: &str) -> Result<bool, Attempt> {
        let sql = format!("SELECT 1 FROM `{}` WHERE id = ?", self.store.table);
        let taken: Option<u8> = self
            .tx
            .exec_first(sql, (id,))
            .await
            .map_err(attempt_error("cannot save"))?;
        Ok(taken.is_some())
    }

    async fn skip_numeric_ids(&mut self) -> Result<(), Attempt> {
        let largest: Option<Option<u64>> = self
            .tx
            .query_first(format!(
                "SELECT MAX(CAST(id AS UNSIGNED)) FROM `{}` WHERE id REGEXP '^[0-9]{{1,19}}$'",
                self.store.table
            ))
            .await
            .map_err(attempt_error("cannot save"))?;
        self.counter = self.counter.max(largest.flatten().unwrap_or(0));
        Ok(())
    }
}

#[async_trait::async_trait]
impl SqlDriver for MysqlStore {
    type Error = mysql_async::Error;
    const NAME: &'static str = "mysql";
    const CHOICES: Choices = MYSQL_CHOICES;
    const LIMITS: Limits = MYSQL_LIMITS;

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn table(&self) -> &str {
        &self.table
    }

    async fn select(&self, lookups: &[(Field, String)]) -> Result<Candidates, Attempt> {
        let mut conn = self.conn().await?;
        MysqlStore::select(self, &mut conn, lookups, false).await
    }

    async fn select_all(&self) -> Result<Vec<Token>, Attempt> {
        let mut conn = self.conn().await?;
        let rows: Vec<Row> = conn
            .query(format!("SELECT {COLUMNS} FROM `{}`", self.table))
            .await
            .map_err(attempt_error("cannot read"))?;
        Ok(rows.into_iter().map(row_token).collect())
    }

    async fn delete(&self, id: Option<&str>) -> Result<u64, Attempt> {
        let mut conn = self.conn().await?;
        let (sql, params) = match id {
            Some(id) => (
                format!("DELETE FROM `{}` WHERE id = ?", self.table),
                vec![Value::from(id)],
            ),
            // Under REPEATABLE READ for this one statement: its next-key locks hold off inserts
            // into the part of the table it has passed, so no insert it misses came before a
            // write it deleted (under READ COMMITTED its effect could belong to no one moment).
            None => {
                let t = &self.table;
                conn.query_drop(format!(
                    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; DELETE FROM `{t}`"
                ))
                .await
                .map_err(attempt_error("cannot delete"))?;
                return Ok(0);
            }
        };
        conn.exec_drop(sql, params)
            .await
            .map_err(attempt_error("cannot delete"))?;
        Ok(conn.affected_rows())
    }

    /// One transaction under READ COMMITTED (the session's level, [`SESSION_SETUP`]): no gap
    /// locks, so saves of distinct new users do not deadlock on their index gaps. What the
    /// decision reads cannot change before the commit: saves that share a value take turns on
    /// its lock row, and a save in place takes the lock rows of the values it writes.
    async fn save(&self, token: &Token, keys: &[i64]) -> Result<String, Attempt> {
        let mut conn = self.conn().await?;
        let mut tx = conn
            .start_transaction(TxOpts::default())
            .await
            .map_err(attempt_error("cannot save"))?;
        let mut save = MysqlTx {
            store: self,
            tx: &mut tx,
            counter_read: None,
            counter: 0,
        };
        // The transaction ends here, whatever happened: a transaction dropped unfinished is
        // rolled back only when the pool next runs, and until then it holds its row locks
        // (an app that drives the store from a runtime that sleeps between calls would block
        // every other writer of the table).
        let decided = save_in(&mut save, keys, token, MYSQL_CHOICES).await;
        match decided {
            Ok(Ok(id)) => {
                tx.commit().await.map_err(attempt_error("cannot save"))?;
                Ok(id)
            }
            Ok(Err(answer)) => {
                tx.rollback().await.map_err(attempt_error("cannot save"))?;
                Err(Attempt::Final(answer))
            }
            Err(failed) => {
                let _ = tx.rollback().await;
                Err(failed)
            }
        }
    }

    /// By id: one `UPDATE ... WHERE id = ?`, whose affected rows are the rows it matched (the
    /// pool's `CLIENT_FOUND_ROWS`). By user name: the id's `SELECT`, then the same `UPDATE` of
    /// that id while it still has that user name (MySQL's `UPDATE` returns no column).
    async fn update_in_place(
        &self,
        by: (Field, &str),
        token: &Token,
        keys: &[i64],
    ) -> Result<Option<String>, Attempt> {
        let mut conn = self.conn().await?;
        let t = &self.table;
        let (id, user) = match by {
            (Field::Id, id) => (id.to_owned(), None),
            (_, user) => {
                let sql = format!("SELECT id FROM `{t}` WHERE user_name = ?");
                let id: Option<String> = conn
                    .exec_first(sql, (user,))
                    .await
                    .map_err(attempt_error("cannot save"))?;
                match id {
                    Some(id) => (id, Some(user)),
                    None => return Ok(None),
                }
            }
        };
        // The lock rows of the token's values are locked by the same statement (a multi-table
        // update locks the rows it joins), so a transaction that holds one of them, and read
        // before this write, ends before it; a lock row no save ever made is no one's to wait
        // for (the LEFT JOIN writes the token all the same).
        let rows = lock_rows(keys);
        let on = vec!["?"; rows.len()].join(", ");
        let set = merge_set(|_| "?".into());
        let mut params: Vec<Value> = rows.into_iter().map(Value::from).collect();
        params.extend(merge_values(token).into_iter().map(Value::from));
        params.push(Value::from(id.as_str()));
        let mut sql = format!(
            "UPDATE `{t}` LEFT JOIN `{t}_locks` l ON l.k IN ({on}) SET {set}, l.k = l.k WHERE id = ?"
        );
        if let Some(user) = user {
            params.push(Value::from(user));
            sql.push_str(" AND user_name = ?");
        }
        match conn.exec_drop(sql, params).await {
            Ok(()) if conn.affected_rows() > 0 => Ok(Some(id)),
            Ok(()) => Ok(None),
            Err(mysql_async::Error::Server(s)) if s.code == DUPLICATE_KEY => Ok(None),
            Err(e) => Err(attempt_error("cannot save")(e)),
        }
    }
}

/// The rows of `table_locks` that stand for the lock keys `keys`: ascending, distinct.
fn lock_rows(keys: &[i64]) -> Vec<i64> {
    let mut rows: Vec<i64> = keys.iter().map(|k| k.rem_euclid(LOCK_STRIPES)).collect();
    rows.sort_unstable();
    rows.dedup();
    rows
}

/// `ER_DUP_ENTRY`: a write gave a unique column a value another row holds.
const DUPLICATE_KEY: u16 = 1062;

/// What each connection of the store runs when it opens (and after a reset): its transactions'
/// isolation level, READ COMMITTED. Set once per connection rather than before each save's
/// transaction, it saves a round trip per transaction.
pub const SESSION_SETUP: &str = "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED";

/// The pool options the store sets on `url`, each unless the URL sets it:
/// - `reset_connection=false`: a connection that goes back to the pool is not reset
///   (`COM_RESET_CONNECTION`), so it keeps its prepared statements and a lookup is one round
///   trip, not a prepare and an execute. The store's only session state is its isolation level
///   ([`SESSION_SETUP`]), which a reset would set again; the pool rolls back a transaction a
///   dropped connection left open.
/// - `inactive_connection_ttl=60`: the pool keeps up to its maximum of idle connections,
///   trimmed back to its minimum (10) after 60 s idle. With `mysql_async`'s default (0) it keeps
///   only 10, so from 11 concurrent callers on every connection handed back is closed and the
///   next call connects again.
/// - `pool_max=32`: at most 32 connections per store object. `mysql_async`'s own maximum is 100,
///   and under load a pool grows toward it (a connection handed back is recycled in the
///   background while new calls open others: 8 busy callers held 57), where a server's default
///   limit (MariaDB's and MySQL's 151) is for every app process together. A 32-client load
///   (`tokenstore-check bench --load --backend mysql --clients 8,32`) ran as fast with 32 as
///   with 100 (finds 54,458 against 56,037 a second, saves 14,934 against 12,840), with 107
///   server connections at most instead of 174.
pub const POOL_OPTIONS: [(&str, &str); 3] = [
    ("reset_connection", "false"),
    ("inactive_connection_ttl", "60"),
    ("pool_max", "32"),
];

/// The options of the store's pool: `url` with the [`POOL_OPTIONS`] it does not set itself,
/// [`SESSION_SETUP`] run on each connection, and `CLIENT_FOUND_ROWS` (an `UPDATE` reports the
/// rows it matched, not only those it changed: a save in place that changes nothing still found
/// its token).
pub fn pool_opts(url: &str) -> std::result::Result<Opts, mysql_async::UrlError> {
    let opts = Opts::from_url(&with_pool_options(url))?;
    Ok(OptsBuilder::from_opts(opts)
        .setup(vec![SESSION_SETUP])
        .client_found_rows(true)
        .into())
}

/// `url` with the [`POOL_OPTIONS`] it does not set itself.
pub fn with_pool_options(url: &str) -> String {
    let mut url = url.to_owned();
    for (name, value) in POOL_OPTIONS {
        if url.contains(&format!("{name}=")) {
            continue;
        }
        let separator = if url.contains('?') { '&' } else { '?' };
        url = format!("{url}{separator}{name}={value}");
    }
    url
}

type Attempt = tokenstore_retry::Attempt<mysql_async::Error>;

/// A lost race (deadlock, lock wait timeout, duplicate key) is retried, a lost connection sent
/// again when that is safe; anything else is final.
fn attempt_error(what: &'static str) -> impl Fn(mysql_async::Error) -> Attempt {
    move |e| match &e {
        mysql_async::Error::Server(s) if matches!(s.code, 1213 | 1205 | DUPLICATE_KEY) => {
            Attempt::Retry(e)
        }
        _ if connection_lost(&e) => Attempt::Lost(backend(what)(e)),
        _ => Attempt::Final(backend(what)(e)),
    }
}

/// Whether `e` says the connection itself failed: an I/O error, a closed connection, or the
/// server's word that it killed the connection or is shutting down (MariaDB 1927
/// `ER_CONNECTION_KILLED`, 1053 `ER_SERVER_SHUTDOWN`, 1317 `ER_QUERY_INTERRUPTED`, MySQL 8 4031
/// `ER_CLIENT_INTERACTION_TIMEOUT`, the client codes 2006 and 2013 for a server gone away).
fn connection_lost(e: &mysql_async::Error) -> bool {
    match e {
        mysql_async::Error::Io(_) => true,
        mysql_async::Error::Driver(d) => {
            matches!(d, mysql_async::DriverError::ConnectionClosed)
        }
        mysql_async::Error::Server(s) => {
            matches!(s.code, 1927 | 1053 | 1317 | 4031 | 2006 | 2013)
        }
        _ => false,
    }
}

/// The error a one-off call (creating or dropping the tables) reports.
fn final_error(attempt: Attempt) -> StoreError {
    tokenstore_sql::final_error("mysql", attempt)
}

fn values(t: &Token) -> [Value; 10] {
    Field::ALL.map(|f| Value::from(t.get(f)))
}

fn row_token(row: Row) -> Token {
    let mut token = Token::default();
    for (i, field) in Field::ALL.into_iter().enumerate() {
        token.set(field, row.get::<Option<String>, _>(i).flatten());
    }
    token
}

fn backend(what: &'static str) -> impl Fn(mysql_async::Error) -> StoreError {
    tokenstore_sql::backend("mysql", what)
}

#[async_trait::async_trait]
impl TokenStore for MysqlStore {
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

#[cfg(test)]
mod pool_options_tests {
    use super::with_pool_options;

    #[test]
    fn pool_options_are_added_unless_the_url_sets_them() {
        assert_eq!(
            with_pool_options("mysql://root@h:3306/test"),
            "mysql://root@h:3306/test?reset_connection=false&inactive_connection_ttl=60&pool_max=32"
        );
        assert_eq!(
            with_pool_options("mysql://root@h/test?inactive_connection_ttl=5&pool_max=8"),
            "mysql://root@h/test?inactive_connection_ttl=5&pool_max=8&reset_connection=false"
        );
        let opts = mysql_async::Opts::from_url(&with_pool_options("mysql://root@h/test")).unwrap();
        assert_eq!(opts.pool_opts().constraints().max(), 32);
    }
}
