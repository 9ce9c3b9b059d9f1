//! Throughput under load: finds and saves per second through a backend's store at several
//! client counts, each client a task calling the one store object as fast as it answers, beside
//! the server's own load tool (`redis-benchmark`, `pgbench`, `mysqlslap`: the backend's
//! `ServerBackend::native_load`) doing the same operation on the same data with as many
//! connections, measured in the same run. A find looks a token up by user name; a save is what an
//! SDK saves after a refresh (`workload::refreshed`: the token as found, id included, with a new
//! access token and expiry time), each client its own tokens, where the tool updates one field
//! of the same tokens. Beside both, the backend's floor (`tokenstore_backends::Floor`) through
//! the store's own driver at the same client count: the bare point select or one-field write of
//! the same tokens, so that what the store's design costs is told apart from what its driver and
//! client cost.

use crate::{workload, Bench};
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokenstore_backends::{Backend, Floor, LoadOp};
use tokenstore_core::{Token, TokenStore};

/// One operation at one client count.
#[derive(Clone, Debug, Serialize)]
pub struct Throughput {
    pub backend: String,
    pub size: usize,
    pub clients: usize,
    pub op: &'static str,
    /// Calls answered per second (errors excluded).
    pub per_second: f64,
    /// Calls that answered an error.
    pub errors: usize,
    /// The server's own tool, and its operations per second.
    pub native_tool: Option<&'static str>,
    pub native_per_second: Option<f64>,
    /// The floor through the store's own driver at the same client count, per second: the bare
    /// point select by user name (find) or `UPDATE ... SET access_token = ? WHERE user_name = ?`
    /// / `HSET` (save). `None` when the backend has no floor for the operation.
    pub floor_per_second: Option<f64>,
}

impl Throughput {
    /// The store's rate over the native tool's: 1.0 is the server's own speed.
    pub fn ratio(&self) -> Option<f64> {
        self.native_per_second.map(|n| self.per_second / n)
    }

    /// The store's rate over the floor's through the same driver.
    pub fn floor_ratio(&self) -> Option<f64> {
        self.floor_per_second.map(|n| self.per_second / n)
    }
}

/// Measures `backend` loaded with `size` tokens at each client count, `duration` per
/// operation; with its server's tool beside it when it has one.
pub fn measure(
    backend: &'static dyn Backend,
    size: usize,
    clients: &[usize],
    duration: Duration,
    note: &dyn Fn(String),
) -> Result<Vec<Throughput>, String> {
    let rt = tokenstore_suite::runtime();
    let bench = rt.block_on(Bench::prepare(backend, size))?;
    let sample = workload::token(size / 2);
    let mut results = Vec::new();
    for &n in clients {
        for op in LoadOp::ALL {
            let (per_second, errors) = rt.block_on(rate(
                Caller::Store(bench.store.clone()),
                size,
                n,
                op,
                duration,
            ));
            let native = native(
                backend,
                &bench,
                &sample,
                op,
                n,
                duration.as_secs_f64(),
                note,
            );
            // After the native tool: the floor's pool then holds its connections idle while no
            // tool needs the server's (MariaDB's 151 were all taken with the floor first).
            let floor_per_second = match &bench.floor {
                Some(floor) => {
                    let (rate, errors) =
                        rt.block_on(rate(Caller::Floor(floor.clone()), size, n, op, duration));
                    (errors == 0 && rate > 0.0).then_some(rate)
                }
                None => None,
            };
            results.push(Throughput {
                backend: backend.name().to_owned(),
                size,
                clients: n,
                op: op.name(),
                per_second,
                errors,
                native_tool: native.map(|(tool, _)| tool),
                native_per_second: native.map(|(_, rate)| rate),
                floor_per_second,
            });
        }
    }
    rt.block_on(bench.cleanup());
    Ok(results)
}

/// The server's own tool doing `op` on the token `sample` of `bench`'s data from `clients`
/// connections for about `seconds`: the tool's name and its operations per second. `None` when
/// the backend is no server, its tool is not on this machine, or the tool failed (said through
/// `note`).
pub fn native(
    backend: &dyn Backend,
    bench: &Bench,
    sample: &Token,
    op: LoadOp,
    clients: usize,
    seconds: f64,
    note: &dyn Fn(String),
) -> Option<(&'static str, f64)> {
    let load =
        backend
            .server()?
            .native_load(&bench.url, &bench.name, sample, op, clients, seconds)?;
    match run_tool(&load.command).map(|out| (load.per_second)(&out)) {
        Ok(Some(rate)) => Some((load.tool, rate)),
        Ok(None) => {
            note(format!("{}: {} printed no rate", backend.name(), load.tool));
            None
        }
        Err(e) => {
            note(format!("{}: {e}", backend.name()));
            None
        }
    }
}

/// What a load calls: the store, or its floor through the same driver.
#[derive(Clone)]
enum Caller {
    Store(Arc<dyn TokenStore>),
    Floor(Arc<dyn Floor>),
}

impl Caller {
    /// One call of `op` on the workload's token `sample`, a save writing `access` as its access
    /// token: whether it answered Ok (for the floor, also whether it has a statement for it).
    async fn call(&self, op: LoadOp, sample: Token, access: String) -> bool {
        let user = sample.user_name.clone().unwrap_or_default();
        let id = sample.id.clone().unwrap_or_default();
        match (self, op) {
            (Caller::Store(store), LoadOp::Find(_)) => {
                let probe = Token {
                    user_name: Some(user),
                    ..Token::default()
                };
                store.find_token(&probe).await.is_ok()
            }
            (Caller::Store(store), LoadOp::Save) => {
                let mut update = workload::refreshed(sample, access);
                store.save_token(&mut update).await.is_ok()
            }
            (Caller::Floor(floor), LoadOp::Find(field)) => {
                matches!(floor.lookup(field, &user, &id).await, Ok(true))
            }
            (Caller::Floor(floor), LoadOp::Save) => {
                matches!(floor.write(&user, &id, &access).await, Ok(true))
            }
        }
    }
}

/// Calls per second answered by `clients` tasks calling `op` on `caller` for `duration`, and the
/// calls that answered an error (for the floor, also a call it has no statement for).
async fn rate(
    caller: Caller,
    size: usize,
    clients: usize,
    op: LoadOp,
    duration: Duration,
) -> (f64, usize) {
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let caller = caller.clone();
            tokio::spawn(async move {
                let (mut answered, mut errors) = (0usize, 0usize);
                // Client `client` takes the tokens k * clients + client, spread by a stride.
                let mut k = 0usize;
                while Instant::now() < deadline {
                    let i = ((k * clients + client) * 7919 + 13) % size;
                    let access = match op {
                        LoadOp::Save => format!("load-{client}-{k}"),
                        LoadOp::Find(_) => String::new(),
                    };
                    let ok = caller.call(op, workload::token(i), access).await;
                    if ok {
                        answered += 1;
                    } else {
                        errors += 1;
                    }
                    k += 1;
                }
                (answered, errors)
            })
        })
        .collect();
    let (mut answered, mut errors) = (0, 0);
    for task in tasks {
        let (a, e) = task.await.unwrap_or((0, 0));
        answered += a;
        errors += e;
    }
    (answered as f64 / started.elapsed().as_secs_f64(), errors)
}

/// Runs a tool to its end: its standard output, or one line saying why it failed.
fn run_tool(command: &[String]) -> Result<String, String> {
    let output = std::process::Command::new(&command[0])
        .args(&command[1..])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", command[0]))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "{} failed ({}): {}",
            command[0],
            output.status,
            said.lines().last().unwrap_or_default()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The results as a table: backend, size, clients, operation, the store's rate, the tool's rate
/// and the store's over it, the floor's rate through the same driver and the store's over it.
pub fn table(results: &[Throughput]) -> String {
    let rate = |r: Option<f64>| r.map_or_else(|| "-".into(), |n| format!("{n:.0}"));
    let times = |r: Option<f64>| r.map_or_else(|| "-".into(), |x| format!("{x:.2}x"));
    let mut out = format!(
        "{:14} {:>7} {:>7} {:4} {:>10} {:>16} {:>10} {:>7} {:>10} {:>8}\n",
        "backend",
        "size",
        "clients",
        "op",
        "per second",
        "native tool",
        "native",
        "ratio",
        "floor",
        "of floor"
    );
    for r in results {
        out.push_str(&format!(
            "{:14} {:>7} {:>7} {:4} {:>10.0} {:>16} {:>10} {:>7} {:>10} {:>8}\n",
            r.backend,
            r.size,
            r.clients,
            r.op,
            r.per_second,
            r.native_tool.unwrap_or("-"),
            rate(r.native_per_second),
            times(r.ratio()),
            rate(r.floor_per_second),
            times(r.floor_ratio()),
        ));
    }
    out
}
