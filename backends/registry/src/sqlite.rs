//! `sqlite` (a file in the storage's directory) and `sqlite-memory` (`:memory:`). The floor is a
//! cached prepared point select on the same file, through rusqlite.

use crate::{dir, failed, Backend, Floor, Loaded};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokenstore_core::{Field, Limits, Token, TokenStore};
use tokenstore_suite::DirFixture;

pub(crate) struct Sqlite;
pub(crate) static SQLITE: Sqlite = Sqlite;

pub(crate) struct SqliteMemory;
pub(crate) static SQLITE_MEMORY: SqliteMemory = SqliteMemory;

/// The namespace a benchmark loads, and so the table its floor reads.
const BENCH_TABLE: &str = "tokens";

#[async_trait]
impl Backend for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn dir_fixture(&self, program: Option<PathBuf>) -> Option<DirFixture> {
        let open = |dir: &Path, namespace: &str| {
            let store = tokenstore_sqlite::SqliteStore::open(dir.join("tokens.db"), namespace)?;
            Ok(Arc::new(store) as Arc<dyn TokenStore>)
        };
        Some(dir::fixture(
            self.name(),
            dir::ON_DISK,
            Limits::default(),
            open,
            program,
        ))
    }

    async fn load(&self, _: &str, dir: &Path, _: &str, tokens: &[Token]) -> Result<Loaded, String> {
        let path = dir.join("tokens.db");
        let store =
            tokenstore_sqlite::SqliteStore::open(&path, BENCH_TABLE).map_err(failed("sqlite"))?;
        let conn = rusqlite::Connection::open(&path).map_err(|e| e.to_string())?;
        bulk_load(&conn, tokens).map_err(|e| format!("sqlite: cannot load: {e}"))?;
        Ok(Loaded {
            store: Arc::new(store),
            floor: Some(Box::new(PointSelect(Mutex::new(conn)))),
            cleanup: None,
        })
    }
}

#[async_trait]
impl Backend for SqliteMemory {
    fn name(&self) -> &'static str {
        "sqlite-memory"
    }

    fn dir_fixture(&self, program: Option<PathBuf>) -> Option<DirFixture> {
        let open = |_: &Path, namespace: &str| {
            let store = tokenstore_sqlite::SqliteStore::open_in_memory(namespace)?;
            Ok(Arc::new(store) as Arc<dyn TokenStore>)
        };
        Some(dir::fixture(
            self.name(),
            dir::IN_MEMORY,
            Limits::default(),
            open,
            program,
        ))
    }

    /// `sqlite` measures the same code on a file.
    fn benchmarked(&self) -> bool {
        false
    }

    async fn load(&self, _: &str, _: &Path, _: &str, _: &[Token]) -> Result<Loaded, String> {
        Err("sqlite-memory: not benchmarked (sqlite measures the same code)".into())
    }
}

/// Inserts the tokens in one transaction and sets the id counter past them.
fn bulk_load(conn: &rusqlite::Connection, tokens: &[Token]) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN")?;
    {
        let mut insert = conn.prepare(&format!(
            "INSERT INTO {BENCH_TABLE} ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            tokenstore_core::sql::COLUMNS
        ))?;
        for t in tokens {
            insert.execute(rusqlite::params_from_iter(Field::ALL.map(|f| t.get(f))))?;
        }
    }
    conn.execute(&format!("DELETE FROM {BENCH_TABLE}_id_counter"), [])?;
    conn.execute(
        &format!("INSERT INTO {BENCH_TABLE}_id_counter (counter) VALUES (?1)"),
        [tokens.len() as i64],
    )?;
    conn.execute_batch("COMMIT")
}

/// The floor: a cached prepared point select on an indexed column that reads the row's ten
/// columns, as a lookup must to answer a token.
struct PointSelect(Mutex<rusqlite::Connection>);

#[async_trait]
impl Floor for PointSelect {
    async fn lookup(&self, field: Field, value: &str, _: &str) -> Result<bool, String> {
        let conn = self.0.lock().map_err(|e| e.to_string())?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {} FROM {BENCH_TABLE} WHERE {} = ?1",
                tokenstore_core::sql::COLUMNS,
                field.name()
            ))
            .map_err(|e| e.to_string())?;
        let mut rows = stmt.query([value]).map_err(|e| e.to_string())?;
        let Some(row) = rows.next().map_err(|e| e.to_string())? else {
            return Ok(false);
        };
        let columns: Vec<Option<String>> = (0..Field::ALL.len())
            .map(|i| row.get(i))
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| e.to_string())?;
        Ok(columns[0].is_some())
    }
}
