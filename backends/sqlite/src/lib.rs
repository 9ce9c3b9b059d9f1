//! `sqlite`: tokens in one SQLite table per namespace (the table name), in a file with WAL or in
//! `:memory:`. A unique index on `user_name` and indexes on the three token columns make every
//! lookup an index probe; every call runs in one transaction through cached prepared statements.
//! The spec's decisions come from `tokenstore_core`; this file only maps a table onto SQL.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::Mutex;
use tokenstore_core::{delete_in, find_by_id_in, find_in, save_into, Choices, Field, Result};
use tokenstore_core::{StoreError, Token, TokenRows, TokenStore, TokenTable};

/// The choices of the `sqlite` store: missing-id deletes succeed silently; no fallback.
pub const SQLITE_CHOICES: Choices = Choices {
    grant_falls_back_to_refresh: false,
    delete_missing_reports_not_found: false,
    untyped_refusals: false,
};

use tokenstore_core::sql::COLUMNS;

/// A token store on one table of an SQLite database.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    sql: Statements,
}

/// The text of every statement the store runs on its table, made once at open (the connection
/// caches each prepared statement by its text).
struct Statements {
    by_id: String,
    /// A lookup by each field, in [`Field::ALL`]'s order.
    by_field: Vec<String>,
    insert: String,
    replace: String,
    remove: String,
    all: String,
    clear: String,
    read_counter: String,
    clear_counter: String,
    write_counter: String,
}

impl Statements {
    fn on(table: &str) -> Statements {
        Statements {
            by_id: format!("SELECT {COLUMNS} FROM {table} WHERE id = ?1"),
            by_field: Field::ALL
                .map(|f| format!("SELECT {COLUMNS} FROM {table} WHERE {f} = ?1 LIMIT 1"))
                .to_vec(),
            insert: format!(
                "INSERT INTO {table} ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ),
            replace: format!(
                "UPDATE {table} SET user_name = ?2, client_id = ?3, client_secret = ?4, \
                 refresh_token = ?5, access_token = ?6, grant_token = ?7, expiry_time = ?8, \
                 redirect_url = ?9, api_domain = ?10 WHERE id = ?1"
            ),
            remove: format!("DELETE FROM {table} WHERE id = ?1"),
            all: format!("SELECT {COLUMNS} FROM {table}"),
            clear: format!("DELETE FROM {table}"),
            read_counter: format!("SELECT counter FROM {table}_id_counter"),
            clear_counter: format!("DELETE FROM {table}_id_counter"),
            write_counter: format!("INSERT INTO {table}_id_counter (counter) VALUES (?1)"),
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and the table `table` in it.
    /// The file is created readable by its owner only.
    pub fn open(path: impl AsRef<Path>, table: &str) -> Result<Self> {
        let path = path.as_ref();
        restrict_new_file(path)?;
        let conn = Connection::open(path).map_err(|e| backend("cannot open database", e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| backend("cannot enable WAL", e))?;
        Self::with_connection(conn, table)
    }

    /// A store on a private in-memory database (`:memory:`), gone when the store is dropped.
    pub fn open_in_memory(table: &str) -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(|e| backend("cannot open :memory:", e))?;
        Self::with_connection(conn, table)
    }

    fn with_connection(conn: Connection, table: &str) -> Result<Self> {
        tokenstore_core::sql::check_identifier(table)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| backend("cannot set busy timeout", e))?;
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (
                 id TEXT NOT NULL PRIMARY KEY, user_name TEXT, client_id TEXT, client_secret TEXT,
                 refresh_token TEXT, access_token TEXT, grant_token TEXT, expiry_time TEXT,
                 redirect_url TEXT, api_domain TEXT);
             CREATE UNIQUE INDEX IF NOT EXISTS {table}_by_user_name ON {table}(user_name);
             CREATE INDEX IF NOT EXISTS {table}_by_access_token ON {table}(access_token);
             CREATE INDEX IF NOT EXISTS {table}_by_grant_token ON {table}(grant_token);
             CREATE INDEX IF NOT EXISTS {table}_by_refresh_token ON {table}(refresh_token);
             CREATE TABLE IF NOT EXISTS {table}_id_counter (counter INTEGER NOT NULL);"
        ))
        .map_err(|e| backend("cannot create the token table", e))?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            sql: Statements::on(table),
        })
    }

    /// Runs `f` on the table: a call that may `write` inside one transaction that takes the
    /// write lock at once (two writers never deadlock upgrading) and commits only when `f`
    /// succeeds; a read as it is.
    fn in_transaction<T>(
        &self,
        write: bool,
        f: impl FnOnce(&mut SqlTable<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.conn.lock().map_err(|_| StoreError::Backend {
            message: "a previous call panicked while holding the connection".into(),
            source: None,
        })?;
        if !write {
            // A read is one statement: its own transaction, without BEGIN and COMMIT around it.
            return f(&mut SqlTable::new(&conn, &self.sql));
        }
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| backend("cannot begin a transaction", e))?;
        let mut table = SqlTable::new(&tx, &self.sql);
        let out = f(&mut table)?;
        table.store_counter()?;
        tx.commit().map_err(|e| backend("cannot commit", e))?;
        Ok(out)
    }
}

#[async_trait::async_trait]
impl TokenStore for SqliteStore {
    async fn find_token(&self, probe: &Token) -> Result<Option<Token>> {
        self.in_transaction(false, |t| find_in(t, probe, SQLITE_CHOICES))
    }

    async fn save_token(&self, token: &mut Token) -> Result<()> {
        self.in_transaction(true, |t| save_into(t, token, SQLITE_CHOICES).map(drop))
    }

    async fn delete_token(&self, id: &str) -> Result<()> {
        self.in_transaction(true, |t| delete_in(t, id, SQLITE_CHOICES).map(drop))
    }

    async fn get_tokens(&self) -> Result<Vec<Token>> {
        self.in_transaction(false, |t| t.all())
    }

    async fn delete_tokens(&self) -> Result<()> {
        self.in_transaction(true, |t| t.clear())
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Token> {
        self.in_transaction(false, |t| find_by_id_in(t, id))
    }
}

/// The token table as seen from inside one transaction.
struct SqlTable<'a> {
    conn: &'a Connection,
    sql: &'a Statements,
    /// The id counter as read when a fresh id was first needed, and as it is now.
    counter_read: Option<u64>,
    counter: u64,
}

impl<'a> SqlTable<'a> {
    fn new(conn: &'a Connection, sql: &'a Statements) -> Self {
        SqlTable {
            conn,
            sql,
            counter_read: None,
            counter: 0,
        }
    }

    fn read_counter(&mut self) -> Result<()> {
        if self.counter_read.is_none() {
            let counter: Option<i64> = self
                .conn
                .prepare_cached(&self.sql.read_counter)
                .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
                .map_err(|e| backend("cannot read the id counter", e))?;
            self.counter = counter.unwrap_or(0) as u64;
            self.counter_read = Some(self.counter);
        }
        Ok(())
    }

    fn store_counter(&self) -> Result<()> {
        if self.counter_read.is_none_or(|read| read == self.counter) {
            return Ok(());
        }
        self.execute(&self.sql.clear_counter, [])?;
        self.execute(&self.sql.write_counter, [self.counter as i64])?;
        Ok(())
    }

    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(params))
            .map_err(|e| backend("cannot write the token table", e))
    }

    fn select(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<Token>> {
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| backend("cannot prepare a query", e))?;
        let rows = stmt
            .query_map(params, row_token)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| backend("cannot read the token table", e))?;
        Ok(rows)
    }

    /// The first row `sql` selects, if any.
    fn select_one(&self, sql: &str, params: impl rusqlite::Params) -> Result<Option<Token>> {
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| backend("cannot prepare a query", e))?;
        let mut rows = stmt
            .query(params)
            .map_err(|e| backend("cannot read the token table", e))?;
        match rows.next() {
            Ok(Some(row)) => row_token(row)
                .map(Some)
                .map_err(|e| backend("cannot read the token table", e)),
            Ok(None) => Ok(None),
            Err(e) => Err(backend("cannot read the token table", e)),
        }
    }

    fn values(token: &Token) -> [Option<&str>; 10] {
        Field::ALL.map(|f| token.get(f))
    }
}

impl TokenRows for SqlTable<'_> {
    fn by_id(&self, id: &str) -> Result<Option<Token>> {
        self.select_one(&self.sql.by_id, [id])
    }

    fn by_field(&self, field: Field, value: &str) -> Result<Option<Token>> {
        let column = Field::ALL.iter().position(|f| *f == field).unwrap_or(0);
        self.select_one(&self.sql.by_field[column], [value])
    }
}

impl TokenTable for SqlTable<'_> {
    fn insert(&mut self, token: Token) -> Result<()> {
        let values = rusqlite::params_from_iter(Self::values(&token));
        self.execute(&self.sql.insert, values).map(drop)
    }

    fn replace(&mut self, token: Token) -> Result<()> {
        let values = rusqlite::params_from_iter(Self::values(&token));
        self.execute(&self.sql.replace, values).map(drop)
    }

    fn remove(&mut self, id: &str) -> Result<bool> {
        Ok(self.execute(&self.sql.remove, params![id])? > 0)
    }

    fn all(&self) -> Result<Vec<Token>> {
        self.select(&self.sql.all, [])
    }

    fn clear(&mut self) -> Result<()> {
        self.execute(&self.sql.clear, []).map(drop)
    }

    fn id_counter(&mut self) -> &mut u64 {
        &mut self.counter
    }

    /// Reads the counter only when an insert needs it, so other calls do not.
    fn fresh_id(&mut self) -> Result<String> {
        self.read_counter()?;
        let mut counter = self.counter;
        let id = tokenstore_core::next_fresh_id(&mut counter, |id| Ok(self.by_id(id)?.is_some()))?;
        self.counter = counter;
        Ok(id)
    }
}

/// A token from a row of the ten columns in [`COLUMNS`]' order.
fn row_token(row: &rusqlite::Row<'_>) -> rusqlite::Result<Token> {
    let mut token = Token::default();
    for (i, field) in Field::ALL.into_iter().enumerate() {
        token.set(field, row.get::<_, Option<String>>(i)?);
    }
    Ok(token)
}

fn backend(what: &str, e: rusqlite::Error) -> StoreError {
    StoreError::backend(format!("sqlite: {what}: {e}"), e)
}

/// Creates the database file with mode 0600 when it does not exist yet.
fn restrict_new_file(path: &Path) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::backend(
            format!("sqlite: cannot create {}: {e}", path.display()),
            e,
        )),
    }
}
