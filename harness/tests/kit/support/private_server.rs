//! A server process a test owns: redis-server, PostgreSQL or MariaDB on a free port, with its data
//! in a temporary directory, that the test stops and starts again on the same port and data.
//! Readiness is polled for a bounded time, and the process is killed when the value drops, so a
//! failing test leaves no server behind.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server kind a test can run privately.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    Mysql,
    Redis,
    Postgres,
}

impl Server {
    pub fn from_name(name: &str) -> Option<Server> {
        [Server::Mysql, Server::Redis, Server::Postgres]
            .into_iter()
            .find(|s| s.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Server::Mysql => "mysql",
            Server::Redis => "redis",
            Server::Postgres => "postgres",
        }
    }
}

/// How long a server may take to start (or to stop) before the test fails.
const READY_LIMIT: Duration = Duration::from_secs(30);

const REDIS_SERVER: &str = "/usr/bin/redis-server";
const INITDB: &str = "/usr/local/bin/initdb";
const POSTGRES: &str = "/usr/local/bin/postgres";
const MARIADB_INSTALL_DB: &str = "/usr/bin/mariadb-install-db";
const MARIADBD: &str = "/usr/sbin/mariadbd";

/// The binaries a server kind needs.
fn binaries(server: Server) -> &'static [&'static str] {
    match server {
        Server::Redis => &[REDIS_SERVER],
        Server::Postgres => &[INITDB, POSTGRES],
        Server::Mysql => &[MARIADB_INSTALL_DB, MARIADBD],
    }
}

/// A running (or stopped) private server.
pub struct PrivateServer {
    server: Server,
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// The user the server runs as, when it must not be root (PostgreSQL).
    run_as: Option<(u32, u32)>,
}

impl PrivateServer {
    /// The first binary `server` needs that is missing, if any.
    pub fn missing_binary(server: Server) -> Option<&'static str> {
        binaries(server)
            .iter()
            .copied()
            .find(|b| !Path::new(b).exists())
    }

    /// Creates the data directory and starts the server on a free port.
    pub fn start(server: Server) -> Result<PrivateServer, String> {
        let dir = tempfile::Builder::new()
            .prefix("tokenstore-restart-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let run_as = match server {
            Server::Postgres => postgres_user()?,
            _ => None,
        };
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).map_err(|e| {
                format!(
                    "cannot hand {} to the postgres user: {e}",
                    dir.path().display()
                )
            })?;
        }
        let mut private = PrivateServer {
            server,
            port: free_port()?,
            dir,
            child: None,
            run_as,
        };
        private.initialize()?;
        private.launch()?;
        Ok(private)
    }

    /// The URL the backend connects to.
    pub fn url(&self) -> String {
        let port = self.port;
        match self.server {
            Server::Redis => format!("redis://127.0.0.1:{port}"),
            Server::Postgres => format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            Server::Mysql => format!("mysql://root@127.0.0.1:{port}/test"),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some((uid, gid)) = self.run_as {
            use std::os::unix::process::CommandExt;
            command.uid(uid).gid(gid);
        }
        command
    }

    /// Creates the data directory's contents (PostgreSQL's cluster, MariaDB's system tables).
    fn initialize(&self) -> Result<(), String> {
        let data = self.data();
        let data = data.to_str().ok_or("a temporary path that is not UTF-8")?;
        let mut command = match self.server {
            Server::Redis => return Ok(()),
            Server::Postgres => {
                let mut c = self.command(INITDB);
                c.args(["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"])
                    .args(["--no-locale", "-E", "UTF8"]);
                c
            }
            Server::Mysql => {
                let mut c = self.command(MARIADB_INSTALL_DB);
                c.args(["--no-defaults", &format!("--datadir={data}"), "--user=root"])
                    .args([
                        "--auth-root-authentication-method=normal",
                        "--skip-name-resolve",
                    ]);
                c
            }
        };
        let status = command
            .status()
            .map_err(|e| format!("cannot run {:?}: {e}", command.get_program()))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{:?} failed: {status}", command.get_program()))
        }
    }

    /// Starts the server process on the port and data directory; returns once it answers.
    fn launch(&mut self) -> Result<(), String> {
        let dir = self
            .dir
            .path()
            .to_str()
            .ok_or("a temporary path that is not UTF-8")?;
        let data = self.data();
        let data = data.to_str().ok_or("a temporary path that is not UTF-8")?;
        let port = self.port.to_string();
        let log = format!("{dir}/server.log");
        let mut command = match self.server {
            Server::Redis => {
                let mut c = self.command(REDIS_SERVER);
                c.args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
                    .args(["--appendonly", "yes", "--appendfsync", "always"])
                    .args(["--dir", dir, "--logfile", &log, "--daemonize", "no"]);
                c
            }
            Server::Postgres => {
                let mut c = self.command(POSTGRES);
                c.args(["-D", data, "-p", &port, "-k", dir]).args([
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "logging_collector=off",
                ]);
                c
            }
            Server::Mysql => {
                let mut c = self.command(MARIADBD);
                c.args(["--no-defaults", &format!("--datadir={data}"), "--user=root"])
                    .args([
                        format!("--port={port}"),
                        format!("--socket={dir}/mysqld.sock"),
                    ])
                    .args(["--bind-address=127.0.0.1", "--skip-networking=0"])
                    .args([
                        format!("--pid-file={dir}/mysqld.pid"),
                        format!("--log-error={log}"),
                    ])
                    .args(["--innodb-buffer-pool-size=16M", "--skip-name-resolve"]);
                c
            }
        };
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
        self.child = Some(child);
        self.wait_until_ready()
    }

    /// Polls the server with its own client until it answers, the process exits, or
    /// [`READY_LIMIT`] passes.
    fn wait_until_ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime: {e}"))?;
        loop {
            if rt.block_on(answers(self.server, self.port)) {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                return Err(format!(
                    "{} exited while starting ({status}): {}",
                    self.server.name(),
                    self.log_tail()
                ));
            }
            if started.elapsed() > READY_LIMIT {
                return Err(format!(
                    "{} did not answer within {} s: {}",
                    self.server.name(),
                    READY_LIMIT.as_secs(),
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server the way its service manager would (SIGTERM; SIGINT, a fast shutdown, for
    /// PostgreSQL) and waits for the process to exit; SIGKILL after [`READY_LIMIT`].
    pub fn stop(&mut self) -> Result<(), String> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let signal = match self.server {
            Server::Postgres => libc::SIGINT,
            _ => libc::SIGTERM,
        };
        // SAFETY: signals the child this value started and has not yet reaped.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let started = Instant::now();
        while started.elapsed() < READY_LIMIT {
            if let Ok(Some(_)) = child.try_wait() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(format!(
            "{} did not stop within {} s",
            self.server.name(),
            READY_LIMIT.as_secs()
        ))
    }

    /// Starts the server again on the same port and data directory.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop()?;
        self.launch()
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().rev().take(3).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A port no one listens on now.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// The `postgres` system user's uid and gid when this test runs as root (PostgreSQL refuses
/// to); `None` when it does not.
fn postgres_user() -> Result<Option<(u32, u32)>, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = std::ffi::CString::new("postgres").expect("no NUL");
    // SAFETY: getpwnam reads a NUL-terminated name; the record is copied out at once.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    if entry.is_null() {
        return Err("running as root, and there is no postgres user to run PostgreSQL as".into());
    }
    // SAFETY: entry is a valid passwd record, checked non-null above.
    let (uid, gid) = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
    Ok(Some((uid, gid)))
}

/// Whether the server on `port` answers its own client (and, for MariaDB, has the `test`
/// database, created on first answer).
async fn answers(server: Server, port: u16) -> bool {
    let limit = Duration::from_secs(2);
    let attempt = async {
        match server {
            Server::Redis => {
                let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).ok()?;
                let mut conn = client.get_multiplexed_async_connection().await.ok()?;
                let pong: String = redis::cmd("PING").query_async(&mut conn).await.ok()?;
                Some(pong == "PONG")
            }
            Server::Postgres => {
                let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
                let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .ok()?;
                let driver = tokio::spawn(connection);
                let answered = client.simple_query("SELECT 1").await.is_ok();
                drop(client);
                let _ = driver.await;
                Some(answered)
            }
            Server::Mysql => {
                use mysql_async::prelude::Queryable;
                let opts =
                    mysql_async::Opts::from_url(&format!("mysql://root@127.0.0.1:{port}")).ok()?;
                let mut conn = mysql_async::Conn::new(opts).await.ok()?;
                conn.query_drop("CREATE DATABASE IF NOT EXISTS test")
                    .await
                    .ok()?;
                conn.disconnect().await.ok()?;
                Some(true)
            }
        }
    };
    matches!(tokio::time::timeout(limit, attempt).await, Ok(Some(true)))
}
