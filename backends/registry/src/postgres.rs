//! `postgres`: PostgreSQL. Connections carry the store's `application_name` and are terminated
//! with `pg_terminate_backend`; the container is `postgres:16-alpine`; the floor is a prepared
//! point select, one statement per key field.

use crate::local::{arg, Recipe};
use crate::provision::{admin_error, start_image};
use crate::{installed, sql_literal, LoadOp, NativeLoad};
use crate::{Backend, Cleanup, Container, Floor, Loaded, ServerBackend, ServerStore, FLOOR_FIELDS};
use async_trait::async_trait;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokenstore_core::{Field, Limits, StoreError, Token, TokenStore};
use tokenstore_postgres::PostgresStore;
use tokenstore_suite::StoreFixture;

pub(crate) struct Postgres;
pub(crate) static POSTGRES: Postgres = Postgres;

#[async_trait]
impl ServerBackend for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn url_variable(&self) -> &'static str {
        "TOKENSTORE_POSTGRES_URL"
    }

    fn example_url(&self) -> &'static str {
        "postgres://postgres@127.0.0.1:5432/test"
    }

    fn limits(&self) -> Limits {
        tokenstore_postgres::POSTGRES_LIMITS
    }

    async fn start_container(&self) -> Result<(String, Container), String> {
        let url = |port| format!("postgres://postgres:postgres@127.0.0.1:{port}/postgres");
        start_image(
            "postgres",
            testcontainers_modules::postgres::Postgres::default(),
            "16-alpine",
            5432,
            url,
        )
        .await
    }

    async fn open(&self, url: &str, name: &str) -> Result<Arc<dyn ServerStore>, StoreError> {
        Ok(Arc::new(PostgresStore::open(url, name).await?))
    }

    fn local(&self) -> Option<&'static dyn Recipe> {
        Some(&LocalPostgres)
    }

    /// `pgbench` (prepared statements, one client thread per core) running the select of the
    /// sample's row by the field's value (find), or the update of one of its fields chosen by
    /// user name (save).
    fn native_load(
        &self,
        url: &str,
        table: &str,
        sample: &Token,
        op: LoadOp,
        clients: usize,
        seconds: f64,
    ) -> Option<NativeLoad> {
        let program = installed("/usr/bin/pgbench")?;
        let user = sql_literal(sample.user_name.as_deref()?);
        let sql = match op {
            LoadOp::Find(field) => {
                let value = sql_literal(sample.get(field)?);
                format!("SELECT * FROM {table} WHERE {field} = {value};\n")
            }
            LoadOp::Save => {
                format!("UPDATE {table} SET access_token = 'native' WHERE user_name = {user};\n")
            }
        };
        let files = tempfile::tempdir().ok()?;
        let script = files.path().join("op.sql");
        std::fs::write(&script, sql).ok()?;
        let command = [
            program.to_owned(),
            "-n".into(),
            "-M".into(),
            "prepared".into(),
            "-c".into(),
            clients.to_string(),
            "-j".into(),
            clients.min(2).to_string(),
            "-T".into(),
            (seconds.ceil() as u64).max(1).to_string(),
            "-f".into(),
            arg(&script),
            url.to_owned(),
        ];
        Some(NativeLoad {
            tool: "pgbench",
            command: command.to_vec(),
            per_second: Box::new(|out| {
                let line = out.lines().find(|l| l.starts_with("tps = "))?;
                line["tps = ".len()..]
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            }),
            files: Some(files),
        })
    }

    /// Terminates the sessions whose `application_name` is one of `tags`.
    async fn kill(&self, url: &str, tags: &[String]) -> Result<usize, StoreError> {
        terminate(url, "application_name", tags).await
    }
}

/// Terminates, on the server at `url`, the sessions whose client address (`client_addr`,
/// `client_port` of `pg_stat_activity`) is one of `clients`.
pub(crate) async fn kill_clients(
    url: &str,
    clients: &[std::net::SocketAddr],
) -> Result<usize, StoreError> {
    let addresses: Vec<String> = clients
        .iter()
        .map(|c| format!("{}:{}", c.ip(), c.port()))
        .collect();
    terminate(url, "host(client_addr) || ':' || client_port", &addresses).await
}

/// Terminates, on the server at `url`, the other sessions whose `column` (an expression of
/// `pg_stat_activity`, written here, never a caller's text) is one of `values`: how many.
async fn terminate(url: &str, column: &str, values: &[String]) -> Result<usize, StoreError> {
    let (admin, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(admin_error("postgres", "cannot connect"))?;
    let driver = tokio::spawn(connection);
    let killed = admin
        .query_one(
            // Materialized first, so that only the listed sessions are ever terminated.
            &format!(
                "WITH ours AS MATERIALIZED (SELECT pid FROM pg_stat_activity \
                 WHERE {column} = ANY($1) AND pid <> pg_backend_pid()) \
                 SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM ours"
            ),
            &[&values],
        )
        .await
        .map_err(admin_error("postgres", "cannot terminate the sessions"));
    drop(admin);
    let _ = driver.await;
    Ok(killed?.get::<_, i64>(0) as usize)
}

/// `initdb` then `postgres`, trusting local connections, listening on 127.0.0.1 only; stopped
/// with SIGINT (a fast shutdown).
struct LocalPostgres;

#[async_trait]
impl Recipe for LocalPostgres {
    fn binaries(&self) -> &'static [&'static str] {
        &["/usr/local/bin/initdb", "/usr/local/bin/postgres"]
    }

    fn url(&self, port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/postgres")
    }

    fn runs_as_postgres(&self) -> bool {
        true
    }

    fn initialize(&self, _: &Path, data: &Path) -> Option<(&'static str, Vec<String>)> {
        let args = [
            "-D",
            &arg(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "--no-locale",
            "-E",
            "UTF8",
        ];
        Some(("/usr/local/bin/initdb", args.map(str::to_owned).to_vec()))
    }

    fn launch(&self, dir: &Path, data: &Path, port: u16, _: &Path) -> (&'static str, Vec<String>) {
        let args = [
            "-D",
            &arg(data),
            "-p",
            &port.to_string(),
            "-k",
            &arg(dir),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "logging_collector=off",
        ];
        ("/usr/local/bin/postgres", args.map(str::to_owned).to_vec())
    }

    fn stop_signal(&self) -> i32 {
        libc::SIGINT
    }

    async fn answers(&self, port: u16) -> bool {
        let Ok((client, connection)) =
            tokio_postgres::connect(&self.url(port), tokio_postgres::NoTls).await
        else {
            return false;
        };
        let driver = tokio::spawn(connection);
        let answered = client.simple_query("SELECT 1").await.is_ok();
        drop(client);
        let _ = driver.await;
        answered
    }
}

#[async_trait]
impl ServerStore for PostgresStore {
    fn into_store(self: Arc<Self>) -> Arc<dyn TokenStore> {
        self
    }

    fn connection_tags(&self) -> Vec<String> {
        vec![self.connection_label().to_owned()]
    }

    async fn drop_namespace(&self) -> Result<(), StoreError> {
        self.drop_tables().await
    }
}

#[async_trait]
impl Backend for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn fixture(&self, program: Option<PathBuf>) -> Box<dyn StoreFixture> {
        crate::server::fixture(&POSTGRES, program)
    }

    fn server(&self) -> Option<&'static dyn ServerBackend> {
        Some(&POSTGRES)
    }

    async fn load(
        &self,
        url: &str,
        _: &Path,
        table: &str,
        tokens: &[Token],
    ) -> Result<Loaded, String> {
        let store = PostgresStore::open(url, table)
            .await
            .map_err(crate::failed("postgres"))?;
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        bulk_load(&client, table, tokens)
            .await
            .map_err(|e| format!("postgres: cannot load: {e}"))?;
        let mut statements = HashMap::new();
        for field in FLOOR_FIELDS {
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
        let write = format!("UPDATE {table} SET access_token = $1 WHERE user_name = $2");
        let write = client.prepare(&write).await.map_err(|e| e.to_string())?;
        Ok(Loaded {
            store: Arc::new(store),
            floor: Some(Box::new(Prepared {
                client,
                statements,
                write,
            })),
            cleanup: Some(Box::new(DropTables {
                url: url.to_owned(),
                table: table.to_owned(),
            })),
        })
    }
}

/// Inserts the tokens 500 rows per statement and sets the id sequence past them.
async fn bulk_load(
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

/// The floor: a prepared point select per key field.
struct Prepared {
    client: tokio_postgres::Client,
    statements: HashMap<Field, tokio_postgres::Statement>,
    /// `UPDATE ... SET access_token = $1 WHERE user_name = $2`.
    write: tokio_postgres::Statement,
}

#[async_trait]
impl Floor for Prepared {
    async fn lookup(&self, field: Field, value: &str, _: &str) -> Result<bool, String> {
        let stmt = self
            .statements
            .get(&field)
            .ok_or("no prepared statement for this field")?;
        let row = self
            .client
            .query_opt(stmt, &[&value])
            .await
            .map_err(|e| e.to_string())?;
        Ok(row.is_some())
    }

    /// The prepared `UPDATE` of the access token by user name.
    async fn write(&self, user_name: &str, _: &str, access_token: &str) -> Result<bool, String> {
        self.client
            .execute(&self.write, &[&access_token, &user_name])
            .await
            .map_err(|e| e.to_string())?;
        Ok(true)
    }

    /// An empty simple query: one message each way, no statement run.
    async fn round_trip(&self) -> Result<bool, String> {
        self.client
            .simple_query("")
            .await
            .map_err(|e| e.to_string())?;
        Ok(true)
    }
}

struct DropTables {
    url: String,
    table: String,
}

#[async_trait]
impl Cleanup for DropTables {
    async fn cleanup(self: Box<Self>) {
        if let Ok(store) = PostgresStore::open(&self.url, &self.table).await {
            let _ = store.drop_tables().await;
        }
    }
}
