//! One `tokenstore-check bench` run: every target at every size, each operation measured against
//! its floor, then `bench.json` and one SVG chart per operation written, and the table the CLI
//! prints.

use crate::{chart, measure, Bench, Op, OpResult};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokenstore_backends::Backend;
use tokenstore_suite::StoreFixture;

/// What a run measures: a built-in backend, or any store the suite can open (an adapter's),
/// reported under `name`.
pub enum Target {
    Builtin(&'static dyn Backend),
    Store {
        fixture: Box<dyn StoreFixture>,
        name: String,
    },
}

impl Target {
    async fn prepare(&self, size: usize) -> Result<Bench, String> {
        match self {
            Target::Builtin(backend) => Bench::prepare(*backend, size).await,
            Target::Store { fixture, name } => {
                let storage = fixture.storage().await?;
                let store = storage
                    .open(tokenstore_suite::MAIN_NAMESPACE)
                    .await
                    .map_err(|e| e.to_string())?;
                Bench::of_store(name, store, size).await
            }
        }
    }
}

/// How far a run is, for a progress display: `step` before each measured operation (and for
/// each operation of a target that could not be prepared), `note` for a line to show.
pub trait Progress {
    fn step(&self, message: &str);
    fn note(&self, line: String);
}

/// What a run measured, and how many operations failed.
pub struct Outcome {
    pub results: Vec<OpResult>,
    pub failures: usize,
}

/// Measures every operation of [`Op::ALL`] on every target at every size (at most `samples`
/// calls, at most `budget` per operation and size), then writes `out/bench.json` and one chart
/// per operation, with the `earlier` results of other runs (the official stores', say) beside
/// this run's, except where this run measured the same backend, operation and size. A target
/// that cannot be prepared at a size is skipped with a note.
pub fn run(
    targets: &[Target],
    sizes: &[usize],
    samples: usize,
    budget: Duration,
    earlier: &[OpResult],
    out: &Path,
    progress: &dyn Progress,
) -> Result<Outcome, String> {
    let rt = tokenstore_suite::runtime();
    let mut results = Vec::new();
    let mut failures = 0;
    for target in targets {
        for &size in sizes {
            let prepared = match rt.block_on(target.prepare(size)) {
                Ok(p) => Arc::new(p),
                Err(e) => {
                    progress.note(format!("skipped: {e}"));
                    for _ in Op::ALL {
                        progress.step("");
                    }
                    continue;
                }
            };
            for op in Op::ALL {
                progress.step(&format!("{} {} at {size}", prepared.backend, op.name()));
                let native = match target {
                    Target::Builtin(backend) => Some(*backend),
                    Target::Store { .. } => None,
                };
                match measured(&rt, &prepared, native, op, samples, budget, progress) {
                    Ok(result) => results.push(result),
                    Err(e) => {
                        failures += 1;
                        progress.note(format!("failed: {e}"));
                    }
                }
            }
            if let Ok(prepared) = Arc::try_unwrap(prepared) {
                rt.block_on(prepared.cleanup());
            }
        }
    }
    let measured_now = |e: &OpResult| {
        results
            .iter()
            .any(|r| r.backend == e.backend && r.op == e.op && r.size == e.size)
    };
    let kept: Vec<OpResult> = earlier
        .iter()
        .filter(|e| !measured_now(e))
        .cloned()
        .collect();
    results.extend(kept);
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    std::fs::write(out.join("bench.json"), to_json(&results))
        .map_err(|e| format!("cannot write bench.json: {e}"))?;
    for op in Op::ALL
        .into_iter()
        .filter(|op| results.iter().any(|r| r.op == op.name()))
    {
        let file = out.join(format!("{}.svg", op.name().replace('/', "-")));
        chart::draw(&results, op.name(), &file)?;
    }
    Ok(Outcome { results, failures })
}

/// How many rounds a call with a native floor is measured in, each of the store's calls then
/// the server's own client: the machine's slow and fast spells fall on both alike, which one
/// store run and one tool run after it would not ensure.
pub const ROUNDS: usize = 3;

/// `op` on `bench` measured, with the server's own client doing the same operation on the same
/// data from one connection when `backend` has one on this machine (for about `budget`, at least
/// a second, in all): in [`ROUNDS`] rounds of the store's calls and the tool's run, each with a
/// third of `samples` and `budget`. The tool's mean latency is one over its mean rate over the
/// rounds: exact for a tool run for a fixed time (`pgbench -T`), at most slightly short of it for
/// one run for a fixed count, so that the ratio errs against the store. Otherwise in one round.
fn measured(
    rt: &tokio::runtime::Runtime,
    bench: &Arc<Bench>,
    backend: Option<&dyn Backend>,
    op: Op,
    samples: usize,
    budget: Duration,
    progress: &dyn Progress,
) -> Result<OpResult, String> {
    let native = backend.filter(|b| b.server().is_some()).zip(op.load_op());
    let rounds = if native.is_some() { ROUNDS } else { 1 };
    let sample = crate::workload::token(bench.size / 2);
    let seconds = budget.as_secs_f64().clamp(1.0, 3.0) / rounds as f64;
    let note = |line| progress.note(line);
    let (mut all, mut tool, mut rates) = (measure::Samples::default(), None, Vec::new());
    for round in 0..rounds {
        let (per_round, budget) = (samples.div_ceil(rounds), budget / rounds as u32);
        all.extend(rt.block_on(on_a_worker(bench, op, per_round, round * per_round, budget))?);
        if let Some((backend, load_op)) = native {
            if let Some((name, rate)) =
                crate::load::native(backend, bench, &sample, load_op, 1, seconds, &note)
            {
                tool = Some(name);
                rates.push(rate);
            }
        }
    }
    let mut result = all.result(bench, op);
    if let (Some(tool), false) = (tool, rates.is_empty()) {
        let rate = rates.iter().sum::<f64>() / rates.len() as f64;
        result.native_tool = Some(tool.to_owned());
        result.native_mean_ns = Some((1e9 / rate.max(1e-9)) as u64);
    }
    Ok(result)
}

/// [`measure::measure`] in a task of the runtime, as an application's request handler calls a
/// store: a future that `block_on` runs stays on the blocked thread, so each reply the runtime's
/// I/O driver notices would wake that thread as well, a thread switch no handler pays.
async fn on_a_worker(
    bench: &Arc<Bench>,
    op: Op,
    samples: usize,
    first: usize,
    budget: Duration,
) -> Result<measure::Samples, String> {
    let bench = bench.clone();
    tokio::spawn(async move { measure::measure(&bench, op, samples, first, budget).await })
        .await
        .map_err(|e| format!("the measuring task failed: {e}"))?
}

/// The results as the JSON of `bench.json`.
pub fn to_json(results: &[OpResult]) -> String {
    serde_json::to_string_pretty(results).expect("plain data")
}

/// The results of an earlier run, read from its `bench.json`.
pub fn read(path: &Path) -> Result<Vec<OpResult>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is not the bench.json of a tokenstore-check bench run: {e}",
            path.display()
        )
    })
}

/// The results as a table: backend, operation, size, p50, p99, the driver's bare round trip,
/// the floor's p50 and the ratio to it, and the server's own client's mean latency and the ratio
/// to it.
pub fn table(results: &[OpResult]) -> String {
    let mut out = format!(
        "{:18} {:26} {:>8} {:>12} {:>12} {:>12} {:>12} {:>7} {:>12} {:>9}\n",
        "backend",
        "operation",
        "size",
        "p50",
        "p99",
        "round trip",
        "floor p50",
        "ratio",
        "native",
        "/native"
    );
    let ratio = |x: Option<f64>| x.map(|x| format!("{x:.2}x")).unwrap_or_else(|| "-".into());
    for r in results {
        let floor = r.floor_p50_ns.map(micros).unwrap_or_else(|| "-".into());
        let trip = r
            .round_trip_p50_ns
            .map(micros)
            .unwrap_or_else(|| "-".into());
        let native = r.native_mean_ns.map(micros).unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "{:18} {:26} {:>8} {:>12} {:>12} {:>12} {:>12} {:>7} {:>12} {:>9}\n",
            r.backend,
            r.op,
            r.size,
            micros(r.p50_ns),
            micros(r.p99_ns),
            trip,
            floor,
            ratio(r.ratio()),
            native,
            ratio(r.native_ratio()),
        ));
    }
    out
}

fn micros(ns: u64) -> String {
    format!("{:.1} µs", ns as f64 / 1000.0)
}
