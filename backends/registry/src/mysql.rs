//! `mysql`: MySQL or MariaDB. Connections are known by their server ids and killed with
//! `KILL CONNECTION`; the container is `mysql:8.4`; the floor is a prepared point select on a
//! pool that keeps its statements.

use crate::local::{arg, Recipe};
use crate::provision::{admin_error, start_image};
use crate::{installed, sql_literal, LoadOp, NativeLoad};
use crate::{Backend, Cleanup, Container, Floor, Loaded, ServerBackend, ServerStore};
use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokenstore_core::{Field, Limits, StoreError, Token, TokenStore};
use tokenstore_mysql::MysqlStore;
use tokenstore_suite::StoreFixture;

pub(crate) struct Mysql;
pub(crate) static MYSQL: Mysql = Mysql;

#[async_trait]
impl ServerBackend for Mysql {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn url_variable(&self) -> &'static str {
        "TOKENSTORE_MYSQL_URL"
    }

    fn example_url(&self) -> &'static str {
        "mysql://root@127.0.0.1:3306/test"
    }

    fn limits(&self) -> Limits {
        tokenstore_mysql::MYSQL_LIMITS
    }

    async fn start_container(&self) -> Result<(String, Container), String> {
        let url = |port| format!("mysql://root@127.0.0.1:{port}/test");
        start_image(
            "mysql",
            testcontainers_modules::mysql::Mysql::default(),
            "8.4",
            3306,
            url,
        )
        .await
    }

    async fn open(&self, url: &str, name: &str) -> Result<Arc<dyn ServerStore>, StoreError> {
        Ok(Arc::new(MysqlStore::open(url, name).await?))
    }

    fn local(&self) -> Option<&'static dyn Recipe> {
        Some(&LocalMariadb)
    }

    /// `mysqlslap` running the select of the sample's row by the field's value (find), or the
    /// update of one of its fields chosen by user name (save), a fixed number of times spread over the clients.
    fn native_load(
        &self,
        url: &str,
        table: &str,
        sample: &Token,
        op: LoadOp,
        clients: usize,
        seconds: f64,
    ) -> Option<NativeLoad> {
        let program = installed("/usr/bin/mysqlslap")?;
        let opts = mysql_async::Opts::from_url(url).ok()?;
        let user = sql_literal(sample.user_name.as_deref()?);
        let sql = match op {
            LoadOp::Find(field) => {
                let value = sql_literal(sample.get(field)?);
                format!("SELECT * FROM `{table}` WHERE {field} = {value}")
            }
            LoadOp::Save => {
                format!("UPDATE `{table}` SET access_token = 'native' WHERE user_name = {user}")
            }
        };
        let queries = (seconds * 4_000.0 * clients.min(4) as f64).max(2_000.0) as usize;
        let mut command = vec![
            program.to_owned(),
            "--protocol=tcp".into(),
            format!("--host={}", opts.ip_or_hostname()),
            format!("--port={}", opts.tcp_port()),
            format!("--user={}", opts.user().unwrap_or("root")),
            format!("--create-schema={}", opts.db_name()?),
            "--no-drop".into(),
            format!("--concurrency={clients}"),
            "--iterations=1".into(),
            format!("--number-of-queries={queries}"),
            format!("--query={sql}"),
        ];
        if let Some(password) = opts.pass() {
            command.insert(5, format!("--password={password}"));
        }
        Some(NativeLoad {
            tool: "mysqlslap",
            command,
            per_second: Box::new(move |out| {
                let line = out
                    .lines()
                    .find(|l| l.contains("Average number of seconds to run all queries"))?;
                let seconds: f64 = line
                    .split(':')
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()?;
                (seconds > 0.0).then(|| queries as f64 / seconds)
            }),
            files: None,
        })
    }

    /// Kills the connections among the ids in `tags` that are still open.
    async fn kill(&self, url: &str, tags: &[String]) -> Result<usize, StoreError> {
        let ids: Vec<u64> = tags.iter().filter_map(|t| t.parse().ok()).collect();
        if ids.is_empty() {
            return Ok(0);
        }
        let mut admin = admin(url).await?;
        let listed = ids
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let open: Vec<u64> = admin
            .query(format!(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE ID IN ({listed})"
            ))
            .await
            .map_err(admin_error("mysql", "cannot list the connections"))?;
        kill_ids(admin, open).await
    }
}

/// An administrator's connection to the server at `url`.
async fn admin(url: &str) -> Result<mysql_async::Conn, StoreError> {
    let opts = mysql_async::Opts::from_url(url).map_err(admin_error("mysql", "bad URL"))?;
    mysql_async::Conn::new(opts)
        .await
        .map_err(admin_error("mysql", "cannot connect"))
}

/// Kills the connections `ids` from `admin`, then closes it: how many it killed.
async fn kill_ids(mut admin: mysql_async::Conn, ids: Vec<u64>) -> Result<usize, StoreError> {
    let mut killed = 0;
    for id in ids {
        match admin.query_drop(format!("KILL CONNECTION {id}")).await {
            Ok(()) => killed += 1,
            // ER_NO_SUCH_THREAD: it closed between the listing and the kill.
            Err(mysql_async::Error::Server(e)) if e.code == 1094 => {}
            Err(e) => return Err(admin_error("mysql", "cannot kill")(e)),
        }
    }
    admin
        .disconnect()
        .await
        .map_err(admin_error("mysql", "cannot disconnect"))?;
    Ok(killed)
}

/// Kills, on the server at `url`, the connections whose client address (the `HOST` of
/// `information_schema.PROCESSLIST`, `address:port`) is one of `clients`.
pub(crate) async fn kill_clients(
    url: &str,
    clients: &[std::net::SocketAddr],
) -> Result<usize, StoreError> {
    let mut admin = admin(url).await?;
    let listed: Vec<(u64, Option<String>)> = admin
        .query("SELECT ID, HOST FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()")
        .await
        .map_err(admin_error("mysql", "cannot list the connections"))?;
    let ours = listed
        .into_iter()
        .filter(|(_, host)| {
            host.as_deref()
                .and_then(|h| h.rsplit_once(':'))
                .and_then(|(address, port)| Some((address, port.parse().ok()?)))
                .is_some_and(|(address, port)| crate::provision::is_client(clients, address, port))
        })
        .map(|(id, _)| id)
        .collect();
    kill_ids(admin, ours).await
}

/// `mariadb-install-db` then `mariadbd`, root with no password, listening on 127.0.0.1 only,
/// with a small buffer pool; the `test` database is created when it first answers.
struct LocalMariadb;

#[async_trait]
impl Recipe for LocalMariadb {
    fn binaries(&self) -> &'static [&'static str] {
        &["/usr/bin/mariadb-install-db", "/usr/sbin/mariadbd"]
    }

    fn url(&self, port: u16) -> String {
        format!("mysql://root@127.0.0.1:{port}/test")
    }

    fn initialize(&self, _: &Path, data: &Path) -> Option<(&'static str, Vec<String>)> {
        let args = [
            "--no-defaults".to_owned(),
            format!("--datadir={}", arg(data)),
            "--user=root".to_owned(),
            "--auth-root-authentication-method=normal".to_owned(),
            "--skip-name-resolve".to_owned(),
        ];
        Some(("/usr/bin/mariadb-install-db", args.to_vec()))
    }

    fn launch(
        &self,
        dir: &Path,
        data: &Path,
        port: u16,
        log: &Path,
    ) -> (&'static str, Vec<String>) {
        let dir = arg(dir);
        let args = [
            "--no-defaults".to_owned(),
            format!("--datadir={}", arg(data)),
            "--user=root".to_owned(),
            format!("--port={port}"),
            format!("--socket={dir}/mysqld.sock"),
            "--bind-address=127.0.0.1".to_owned(),
            "--skip-networking=0".to_owned(),
            format!("--pid-file={dir}/mysqld.pid"),
            format!("--log-error={}", arg(log)),
            "--innodb-buffer-pool-size=16M".to_owned(),
            "--skip-name-resolve".to_owned(),
        ];
        ("/usr/sbin/mariadbd", args.to_vec())
    }

    async fn answers(&self, port: u16) -> bool {
        let answer = async {
            let url = format!("mysql://root@127.0.0.1:{port}");
            let opts = mysql_async::Opts::from_url(&url).ok()?;
            let mut conn = mysql_async::Conn::new(opts).await.ok()?;
            conn.query_drop("CREATE DATABASE IF NOT EXISTS test")
                .await
                .ok()?;
            conn.disconnect().await.ok()?;
            Some(true)
        };
        answer.await == Some(true)
    }
}

#[async_trait]
impl ServerStore for MysqlStore {
    fn into_store(self: Arc<Self>) -> Arc<dyn TokenStore> {
        self
    }

    fn connection_tags(&self) -> Vec<String> {
        self.connection_ids().iter().map(u32::to_string).collect()
    }

    async fn drop_namespace(&self) -> Result<(), StoreError> {
        self.drop_tables().await?;
        self.disconnect().await
    }
}

#[async_trait]
impl Backend for Mysql {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn fixture(&self, program: Option<PathBuf>) -> Box<dyn StoreFixture> {
        crate::server::fixture(&MYSQL, program)
    }

    fn server(&self) -> Option<&'static dyn ServerBackend> {
        Some(&MYSQL)
    }

    async fn load(
        &self,
        url: &str,
        _: &Path,
        table: &str,
        tokens: &[Token],
    ) -> Result<Loaded, String> {
        let store = MysqlStore::open(url, table)
            .await
            .map_err(crate::failed("mysql"))?;
        // The floor's pool keeps its prepared statements, and its connections, as the store's
        // does (`tokenstore_mysql::POOL_OPTIONS`).
        let opts = tokenstore_mysql::pool_opts(url).map_err(|e| e.to_string())?;
        let pool = mysql_async::Pool::new(opts);
        bulk_load(&pool, table, tokens)
            .await
            .map_err(|e| format!("mysql: cannot load: {e}"))?;
        Ok(Loaded {
            store: Arc::new(store),
            floor: Some(Box::new(PointSelect {
                pool,
                table: table.to_owned(),
            })),
            cleanup: Some(Box::new(DropTables {
                url: url.to_owned(),
                table: table.to_owned(),
            })),
        })
    }
}

/// Inserts the tokens 500 rows per statement and sets the id counter past them.
async fn bulk_load(
    pool: &mysql_async::Pool,
    table: &str,
    tokens: &[Token],
) -> Result<(), mysql_async::Error> {
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

/// The floor: a prepared point select (mysql_async caches the statement per connection).
struct PointSelect {
    pool: mysql_async::Pool,
    table: String,
}

#[async_trait]
impl Floor for PointSelect {
    async fn lookup(&self, field: Field, value: &str, _: &str) -> Result<bool, String> {
        let mut conn = self.pool.get_conn().await.map_err(|e| e.to_string())?;
        let row: Option<mysql_async::Row> = conn
            .exec_first(
                format!(
                    "SELECT {} FROM `{}` WHERE {} = ?",
                    tokenstore_core::sql::COLUMNS,
                    self.table,
                    field.name()
                ),
                (value,),
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(row.is_some())
    }

    /// A prepared `UPDATE ... SET access_token = ? WHERE user_name = ?` on the floor's pool.
    async fn write(&self, user_name: &str, _: &str, access_token: &str) -> Result<bool, String> {
        let mut conn = self.pool.get_conn().await.map_err(|e| e.to_string())?;
        let sql = format!(
            "UPDATE `{}` SET access_token = ? WHERE user_name = ?",
            self.table
        );
        conn.exec_drop(sql, (access_token, user_name))
            .await
            .map_err(|e| e.to_string())?;
        Ok(true)
    }

    /// `COM_PING` on a connection of the floor's pool.
    async fn round_trip(&self) -> Result<bool, String> {
        let mut conn = self.pool.get_conn().await.map_err(|e| e.to_string())?;
        conn.ping().await.map_err(|e| e.to_string())?;
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
        if let Ok(store) = MysqlStore::open(&self.url, &self.table).await {
            let _ = store.drop_tables().await;
            let _ = store.disconnect().await;
        }
    }
}
