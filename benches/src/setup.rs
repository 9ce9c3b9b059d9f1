//! Opening each backend at a given size: the store, loaded in bulk with the synthetic population
//! (as fast as the storage allows, not through `save_token`, except where the store's own layout
//! is only reachable through it), and the raw floor beside it on the same data.

use crate::workload;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokenstore_core::{Field, StoreError, Token, TokenStore};

/// The fields lookups are measured by.
const KEY_FIELDS: [Field; 5] = [
    Field::Id,
    Field::UserName,
    Field::AccessToken,
    Field::GrantToken,
    Field::RefreshToken,
];

/// A backend the benchmarks know how to load and to floor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchBackend {
    Memory,
    List,
    Sqlite,
    File,
    Mysql,
    Redis,
    Postgres,
}

impl BenchBackend {
    pub const ALL: [BenchBackend; 7] = [
        BenchBackend::Memory,
        BenchBackend::List,
        BenchBackend::Sqlite,
        BenchBackend::File,
        BenchBackend::Mysql,
        BenchBackend::Redis,
        BenchBackend::Postgres,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BenchBackend::Memory => "memory",
            BenchBackend::List => "list",
            BenchBackend::Sqlite => "sqlite",
            BenchBackend::File => "file",
            BenchBackend::Mysql => "mysql",
            BenchBackend::Redis => "redis",
            BenchBackend::Postgres => "postgres",
        }
    }

    pub fn from_name(name: &str) -> Option<BenchBackend> {
        BenchBackend::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The server URL variable a server backend needs, if it is one.
    pub fn url_variable(self) -> Option<&'static str> {
        match self {
            BenchBackend::Mysql => Some("TOKENSTORE_MYSQL_URL"),
            BenchBackend::Redis => Some("TOKENSTORE_REDIS_URL"),
            BenchBackend::Postgres => Some("TOKENSTORE_POSTGRES_URL"),
            _ => None,
        }
    }

    /// Opens the backend with `size` tokens loaded.
    pub async fn prepare(self, size: usize) -> Result<Bench, String> {
        let tokens = workload::population(size);
        let url = match self.url_variable() {
            Some(var) => Some(
                std::env::var(var)
                    .map_err(|_| format!("{}: set {var} to benchmark it", self.name()))?,
            ),
            None => None,
        };
        let url = url.as_deref().unwrap_or_default();
        let dir =
            tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let table = format!("tsbench_{}_{size}", std::process::id());
        let fail = |e: StoreError| format!("{}: {e}", self.name());
        let (store, floor, cleanup): (Arc<dyn TokenStore>, Option<Floor>, Cleanup) = match self {
            BenchBackend::Memory => {
                let store = tokenstore_memory::memory_store();
                save_all(&store, &tokens).await.map_err(fail)?;
                (
                    Arc::new(store),
                    Some(Floor::HashMaps(hash_floor(&tokens))),
                    Cleanup::None,
                )
            }
            BenchBackend::List => {
                let store = tokenstore_list::list_store();
                save_all(&store, &tokens).await.map_err(fail)?;
                (Arc::new(store), None, Cleanup::None)
            }
            BenchBackend::Sqlite => {
                let path = dir.path().join("tokens.db");
                let store = tokenstore_sqlite::SqliteStore::open(&path, "tokens").map_err(fail)?;
                let conn = rusqlite::Connection::open(&path).map_err(|e| e.to_string())?;
                sqlite_load(&conn, &tokens).map_err(|e| format!("sqlite: cannot load: {e}"))?;
                (
                    Arc::new(store),
                    Some(Floor::Sqlite(Mutex::new(conn))),
                    Cleanup::None,
                )
            }
            BenchBackend::File => {
                let path = dir.path().join("tokens.csv");
                tokenstore_file::csv_format::write_file(&path, &tokens).map_err(fail)?;
                (
                    Arc::new(tokenstore_file::FileStore::open(&path).map_err(fail)?),
                    None,
                    Cleanup::None,
                )
            }
            BenchBackend::Mysql => {
                let store = tokenstore_mysql::MysqlStore::open(url, &table)
                    .await
                    .map_err(fail)?;
                // The floor keeps its prepared statements too: no reset when a connection goes
                // back to the pool.
                let opts = mysql_async::Opts::from_url(url).map_err(|e| e.to_string())?;
                let pool_opts = opts.pool_opts().clone().with_reset_connection(false);
                let pool = mysql_async::Pool::new(
                    mysql_async::OptsBuilder::from_opts(opts).pool_opts(pool_opts),
                );
                mysql_load(&pool, &table, &tokens)
                    .await
                    .map_err(|e| format!("mysql: cannot load: {e}"))?;
                (
                    Arc::new(store),
                    Some(Floor::Mysql(pool, table.clone())),
                    Cleanup::Mysql(url.to_owned(), table),
                )
            }
            BenchBackend::Postgres => {
                let store = tokenstore_postgres::PostgresStore::open(url, &table)
                    .await
                    .map_err(fail)?;
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(connection);
                postgres_load(&client, &table, &tokens)
                    .await
                    .map_err(|e| format!("postgres: cannot load: {e}"))?;
                let mut statements = HashMap::new();
                for field in KEY_FIELDS {
                    let sql = format!(
                        "SELECT {} FROM {table} WHERE {} = $1",
                        tokenstore_core::sql::COLUMNS,
                        field.name()
                    );
                    statements.insert(
                        field,
                        client.prepare(&sql).await.map_err(|e| e.to_string())?,
                    );
                }
                (
                    Arc::new(store),
                    Some(Floor::Postgres(client, statements)),
                    Cleanup::Postgres(url.to_owned(), table),
                )
            }
            BenchBackend::Redis => {
                let store = Arc::new(
                    tokenstore_redis::RedisStore::open(url, &table)
                        .await
                        .map_err(fail)?,
                );
                save_concurrently(store.clone(), tokens)
                    .await
                    .map_err(fail)?;
                let client = redis::Client::open(url).map_err(|e| e.to_string())?;
                let conn = client
                    .get_connection_manager()
                    .await
                    .map_err(|e| e.to_string())?;
                let floor = Floor::Redis(conn, format!("{{tokenstore:{table}}}"));
                (store.clone(), Some(floor), Cleanup::Redis(store))
            }
        };
        Ok(Bench {
            backend: self.name().to_owned(),
            size,
            store,
            floor,
            cleanup,
            _dir: dir,
        })
    }
}

/// A loaded store and its floor, ready to measure.
pub struct Bench {
    pub backend: String,
    pub size: usize,
    pub store: Arc<dyn TokenStore>,
    pub floor: Option<Floor>,
    cleanup: Cleanup,
    _dir: tempfile::TempDir,
}

impl Bench {
    /// A store loaded by someone else (an adapter store, say), measured without a floor.
    pub async fn of_store(
        name: &str,
        store: Arc<dyn TokenStore>,
        size: usize,
    ) -> Result<Bench, String> {
        store
            .delete_tokens()
            .await
            .map_err(|e| format!("{name}: cannot empty the store: {e}"))?;
        save_all(&*store, &workload::population(size))
            .await
            .map_err(|e| format!("{name}: {e}"))?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        Ok(Bench {
            backend: name.to_owned(),
            size,
            store,
            floor: None,
            cleanup: Cleanup::None,
            _dir: dir,
        })
    }

    /// Removes what the benchmark created on a server.
    pub async fn cleanup(self) {
        match self.cleanup {
            Cleanup::None => {}
            Cleanup::Mysql(url, table) => {
                if let Ok(store) = tokenstore_mysql::MysqlStore::open(&url, &table).await {
                    let _ = store.drop_tables().await;
                    let _ = store.disconnect().await;
                }
            }
            Cleanup::Postgres(url, table) => {
                if let Ok(store) = tokenstore_postgres::PostgresStore::open(&url, &table).await {
                    let _ = store.drop_tables().await;
                }
            }
            Cleanup::Redis(store) => {
                let _ = store.drop_namespace().await;
            }
        }
    }
}

enum Cleanup {
    None,
    Mysql(String, String),
    Postgres(String, String),
    Redis(Arc<tokenstore_redis::RedisStore>),
}

/// The cheapest lookup each driver allows, on the same data as the store.
pub enum Floor {
    /// `memory`: a `HashMap` get, one map per key field.
    HashMaps(HashMap<Field, HashMap<String, Token>>),
    /// `sqlite`: a cached prepared point select on an indexed column.
    Sqlite(Mutex<rusqlite::Connection>),
    /// `mysql`: a prepared point select (mysql_async caches the statement).
    Mysql(mysql_async::Pool, String),
    /// `postgres`: a prepared point select, one statement per key field.
    Postgres(
        tokio_postgres::Client,
        HashMap<Field, tokio_postgres::Statement>,
    ),
    /// `redis`: HGETALL of the token's known key.
    Redis(redis::aio::ConnectionManager, String),
}

impl Floor {
    /// Looks up the token whose `field` is `value` (whose id is `id`); whether it was found.
    pub async fn lookup(&self, field: Field, value: &str, id: &str) -> Result<bool, String> {
        let columns = tokenstore_core::sql::COLUMNS;
        match self {
            Floor::HashMaps(maps) => Ok(maps
                .get(&field)
                .and_then(|m| m.get(value))
                .cloned()
                .is_some()),
            Floor::Sqlite(conn) => {
                let conn = conn.lock().map_err(|e| e.to_string())?;
                let mut stmt = conn
                    .prepare_cached(&format!(
                        "SELECT {columns} FROM tokens WHERE {} = ?1",
                        field.name()
                    ))
                    .map_err(|e| e.to_string())?;
                let mut rows = stmt.query([value]).map_err(|e| e.to_string())?;
                let row = rows.next().map_err(|e| e.to_string())?;
                Ok(row
                    .map(|r| r.get::<_, Option<String>>(0))
                    .transpose()
                    .map_err(|e| e.to_string())?
                    .is_some())
            }
            Floor::Mysql(pool, table) => {
                use mysql_async::prelude::Queryable;
                let mut conn = pool.get_conn().await.map_err(|e| e.to_string())?;
                let row: Option<mysql_async::Row> = conn
                    .exec_first(
                        format!("SELECT {columns} FROM `{table}` WHERE {} = ?", field.name()),
                        (value,),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(row.is_some())
            }
            Floor::Postgres(client, statements) => {
                let stmt = statements
                    .get(&field)
                    .ok_or("no prepared statement for this field")?;
                let row = client
                    .query_opt(stmt, &[&value])
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(row.is_some())
            }
            Floor::Redis(conn, prefix) => {
                let fields: Vec<String> = redis::cmd("HGETALL")
                    .arg(format!("{prefix}:t:{id}"))
                    .query_async(&mut conn.clone())
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(!fields.is_empty())
            }
        }
    }
}

fn hash_floor(tokens: &[Token]) -> HashMap<Field, HashMap<String, Token>> {
    let mut maps: HashMap<Field, HashMap<String, Token>> = HashMap::new();
    for t in tokens {
        for field in KEY_FIELDS {
            if let Some(v) = t.get(field) {
                maps.entry(field)
                    .or_default()
                    .insert(v.to_owned(), t.clone());
            }
        }
    }
    maps
}

async fn save_all(store: &dyn TokenStore, tokens: &[Token]) -> Result<(), StoreError> {
    for t in tokens {
        store.save_token(&mut t.clone()).await?;
    }
    Ok(())
}

/// Loads through `save_token` from 16 tasks at once: for stores reachable only that way.
async fn save_concurrently(
    store: Arc<tokenstore_redis::RedisStore>,
    tokens: Vec<Token>,
) -> Result<(), StoreError> {
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

fn sqlite_load(conn: &rusqlite::Connection, tokens: &[Token]) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN")?;
    {
        let mut insert = conn.prepare(&format!(
            "INSERT INTO tokens ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            tokenstore_core::sql::COLUMNS
        ))?;
        for t in tokens {
            insert.execute(rusqlite::params_from_iter(Field::ALL.map(|f| t.get(f))))?;
        }
    }
    conn.execute("DELETE FROM tokens_id_counter", [])?;
    conn.execute(
        "INSERT INTO tokens_id_counter (counter) VALUES (?1)",
        [tokens.len() as i64],
    )?;
    conn.execute_batch("COMMIT")
}

async fn mysql_load(
    pool: &mysql_async::Pool,
    table: &str,
    tokens: &[Token],
) -> Result<(), mysql_async::Error> {
    use mysql_async::prelude::Queryable;
    let mut conn = pool.get_conn().await?;
    for chunk in tokens.chunks(500) {
        let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let params: Vec<mysql_async::Value> = chunk
            .iter()
            .flat_map(|t| Field::ALL.map(|f| mysql_async::Value::from(t.get(f))))
            .collect();
        conn.exec_drop(
            format!(
                "INSERT INTO `{table}` ({}) VALUES {rows}",
                tokenstore_core::sql::COLUMNS
            ),
            params,
        )
        .await?;
    }
    conn.exec_drop(
        format!("UPDATE `{table}_ids` SET n = ?"),
        (tokens.len() as u64,),
    )
    .await
}

async fn postgres_load(
    client: &tokio_postgres::Client,
    table: &str,
    tokens: &[Token],
) -> Result<(), tokio_postgres::Error> {
    use tokio_postgres::types::ToSql;
    for chunk in tokens.chunks(500) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|r| {
                format!(
                    "({})",
                    (1..=10)
                        .map(|c| format!("${}", r * 10 + c))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        let values: Vec<Option<&str>> = chunk
            .iter()
            .flat_map(|t| Field::ALL.map(|f| t.get(f)))
            .collect();
        let params: Vec<&(dyn ToSql + Sync)> =
            values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        client
            .execute(
                &format!(
                    "INSERT INTO {table} ({}) VALUES {}",
                    tokenstore_core::sql::COLUMNS,
                    rows.join(", ")
                ),
                &params,
            )
            .await?;
    }
    client
        .execute(
            &format!("SELECT setval('{table}_ids', {})", tokens.len().max(1)),
            &[],
        )
        .await?;
    Ok(())
}
