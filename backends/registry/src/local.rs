//! A server process of one's own: a server backend's local binaries started on a free port with
//! their data in a temporary directory, stopped and started again on the same port and data,
//! killed when the value drops (so a failing test leaves no server behind). Readiness is polled
//! with the server's own client for a bounded time. Each server backend gives its [`Recipe`]
//! (`ServerBackend::local`); the restart tests use it.

use crate::ServerBackend;
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to start (or to stop) before that is an error.
pub const READY_LIMIT: Duration = Duration::from_secs(30);

/// How a server backend's binaries run a private server.
#[async_trait]
pub trait Recipe: Send + Sync {
    /// The binaries it needs, by absolute path.
    fn binaries(&self) -> &'static [&'static str];

    /// The URL of the server on `port`.
    fn url(&self, port: u16) -> String;

    /// Whether the server refuses to run as root and runs as the `postgres` user instead.
    fn runs_as_postgres(&self) -> bool {
        false
    }

    /// The command that creates the data directory `data` (inside `dir`), if one is needed.
    fn initialize(&self, dir: &Path, data: &Path) -> Option<(&'static str, Vec<String>)> {
        let _ = (dir, data);
        None
    }

    /// The command that runs the server on `port`, with its data in `data`, its sockets and pid
    /// file in `dir`, and its log in `log`.
    fn launch(&self, dir: &Path, data: &Path, port: u16, log: &Path)
        -> (&'static str, Vec<String>);

    /// The signal its service manager stops it with.
    fn stop_signal(&self) -> i32 {
        libc::SIGTERM
    }

    /// Whether the server on `port` answers its own client (and is ready for the backend).
    async fn answers(&self, port: u16) -> bool;
}

/// A running (or stopped) private server.
pub struct LocalServer {
    name: &'static str,
    recipe: &'static dyn Recipe,
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// The user the server runs as, when it must not be root (PostgreSQL).
    run_as: Option<(u32, u32)>,
}

impl LocalServer {
    /// The first binary `server` needs that is missing, if any (`None` also when the backend
    /// has no local recipe: then [`LocalServer::start`] says so).
    pub fn missing_binary(server: &dyn ServerBackend) -> Option<&'static str> {
        server
            .local()?
            .binaries()
            .iter()
            .copied()
            .find(|b| !Path::new(b).exists())
    }

    /// Creates the data directory and starts the server on a free port.
    pub fn start(server: &'static dyn ServerBackend) -> Result<LocalServer, String> {
        let name = server.name();
        let recipe = server
            .local()
            .ok_or_else(|| format!("{name}: no recipe to run it from local binaries"))?;
        LocalServer::start_recipe(name, recipe)
    }

    /// Creates the data directory and starts `recipe`'s server, called `name` in errors, on a
    /// free port. A port found free can be taken before the server binds it (or, for a Redis
    /// Cluster node, its bus port 10000 above it): such a start is tried again, at most
    /// [`START_TRIES`] times in all, on another port.
    pub fn start_recipe(
        name: &'static str,
        recipe: &'static dyn Recipe,
    ) -> Result<LocalServer, String> {
        let mut tries = 1;
        loop {
            match LocalServer::start_once(name, recipe) {
                Err(e) if e.contains("Address already in use") && tries < START_TRIES => tries += 1,
                started => return started,
            }
        }
    }

    fn start_once(name: &'static str, recipe: &'static dyn Recipe) -> Result<LocalServer, String> {
        let dir = tempfile::Builder::new()
            .prefix("tokenstore-local-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let run_as = if recipe.runs_as_postgres() {
            postgres_user()?
        } else {
            None
        };
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).map_err(|e| {
                format!(
                    "cannot hand {} to the postgres user: {e}",
                    dir.path().display()
                )
            })?;
        }
        let mut local = LocalServer {
            name,
            recipe,
            port: free_port()?,
            dir,
            child: None,
            run_as,
        };
        if let Some((program, args)) = recipe.initialize(local.dir.path(), &local.data()) {
            let mut command = local.command(program);
            command.args(&args);
            let status = command
                .status()
                .map_err(|e| format!("cannot run {program}: {e}"))?;
            if !status.success() {
                return Err(format!("{program} failed: {status}"));
            }
        }
        local.launch()?;
        Ok(local)
    }

    /// The URL the backend connects to.
    pub fn url(&self) -> String {
        self.recipe.url(self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory of its data, sockets and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills the server process with SIGKILL, as a crash does; [`LocalServer::restart`] starts
    /// it again on the same port and data.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
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

    /// Starts the server process on the port and data directory; returns once it answers.
    fn launch(&mut self) -> Result<(), String> {
        let log = self.dir.path().join("server.log");
        let (program, args) = self
            .recipe
            .launch(self.dir.path(), &self.data(), self.port, &log);
        let mut command = self.command(program);
        command.args(&args);
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
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
            let answered = rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(2), self.recipe.answers(self.port))
                    .await
                    .unwrap_or(false)
            });
            if answered {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                return Err(format!(
                    "{} exited while starting ({status}): {}",
                    self.name,
                    self.log_tail()
                ));
            }
            if started.elapsed() > READY_LIMIT {
                return Err(format!(
                    "{} did not answer within {} s: {}",
                    self.name,
                    READY_LIMIT.as_secs(),
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server the way its service manager would and waits for the process to exit;
    /// SIGKILL after [`READY_LIMIT`].
    pub fn stop(&mut self) -> Result<(), String> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        // SAFETY: signals the child this value started and has not yet reaped.
        unsafe { libc::kill(child.id() as libc::pid_t, self.recipe.stop_signal()) };
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
            self.name,
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

impl Drop for LocalServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How many times [`LocalServer::start_recipe`] tries ports before it gives up.
const START_TRIES: u32 = 4;

/// A port no one listens on now.
pub(crate) fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// The `postgres` system user's uid and gid when this process runs as root (PostgreSQL refuses
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

/// A path as the argument of a server's command line.
pub(crate) fn arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
