//! `tokenstore-check`: runs the conformance suite against built-in backends and adapter stores,
//! gates CI with baselines, replays saved failures, compares two stores, and prints the rule
//! table. Exit status: 0 when no MUST rule failed (or, with a baseline, nothing new failed and
//! nothing listed passed), 1 otherwise, 2 for bad arguments, an unknown backend, an adapter that
//! does not start, or an unreadable replay or baseline file.

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokenstore_harness::adapter::AdapterFixture;
use tokenstore_harness::baseline::Baseline;
use tokenstore_harness::replay::ReplayFile;
use tokenstore_harness::{builtin, diff, machine, profile, rules, runner};
use tokenstore_harness::{Report, RunOptions, StoreFixture};

#[derive(Parser)]
#[command(
    name = "tokenstore-check",
    version,
    about = "Conformance checks for OAuth TokenStore implementations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print client secrets and access, refresh and grant tokens in full (default: a fingerprint).
    #[arg(long, global = true)]
    show_secrets: bool,
}

/// Which stores a command works on.
#[derive(Args, Clone)]
struct Stores {
    /// A built-in backend (repeatable); `all` for every backend compiled in.
    #[arg(long = "backend", value_name = "NAME")]
    backends: Vec<String>,
    /// Also check the store behind an adapter: the command follows `--`.
    #[arg(long)]
    adapter: bool,
    /// Seconds an adapter may take to answer one request.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    adapter_timeout: f64,
    /// Check an adapter store even if it already holds tokens (they are deleted).
    #[arg(long)]
    allow_destructive: bool,
    /// The adapter command and its arguments, after `--`.
    #[arg(last = true, value_name = "CMD")]
    command: Vec<String>,
}

/// How the model-based sequences are generated.
#[derive(Args)]
struct Sequences {
    /// Sequences tried per store.
    #[arg(long, default_value_t = 256)]
    cases: u32,
    /// Seed (default: random, printed in the report).
    #[arg(long)]
    seed: Option<u64>,
    /// Longest generated sequence.
    #[arg(long, default_value_t = 40)]
    max_steps: usize,
}

#[derive(Subcommand)]
enum Command {
    /// Check stores against every rule and print a verdict per rule and store. Default: the
    /// embedded backends.
    Run {
        #[command(flatten)]
        stores: Stores,
        #[command(flatten)]
        sequences: Sequences,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Write the report here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Where failing sequences are saved as replay files.
        #[arg(long, value_name = "DIR", default_value = "tokenstore-replays")]
        replay_dir: PathBuf,
        /// Known failures: fail only on a failure not listed, or a listed one that now passes.
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
        /// Record this run's failures as the baseline.
        #[arg(long, value_name = "FILE")]
        write_baseline: Option<PathBuf>,
    },
    /// Run a saved failing sequence again against one store.
    Replay {
        file: PathBuf,
        #[command(flatten)]
        stores: Stores,
    },
    /// Run the same random sequences against two stores and report the first divergence.
    Diff {
        #[command(flatten)]
        stores: Stores,
        #[command(flatten)]
        sequences: Sequences,
    },
    /// Measure lookup latency per operation and store size, beside each backend's raw floor.
    Bench {
        #[command(flatten)]
        stores: Stores,
        /// Store sizes, comma-separated.
        #[arg(long, value_name = "N,N,...", default_value = "1000,10000,100000")]
        sizes: String,
        /// Most calls timed per operation and size.
        #[arg(long, default_value_t = 500)]
        samples: usize,
        /// Seconds spent at most timing one operation at one size (at least 10 calls are timed).
        #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
        budget: f64,
        #[arg(long, value_enum, default_value_t = RulesFormat::Human)]
        format: RulesFormat,
        /// Directory for bench.json and one SVG chart per operation.
        #[arg(long, value_name = "DIR", default_value = "tokenstore-bench")]
        out: PathBuf,
    },
    /// Serve a built-in store that keeps its storage in a directory over the adapter protocol
    /// on standard input and output: what the processes and crash tiers start.
    Serve {
        #[arg(long, value_name = "NAME")]
        backend: String,
    },
    /// Print the rule table.
    Rules {
        #[arg(long, value_enum, default_value_t = RulesFormat::Human)]
        format: RulesFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
    Junit,
}

#[derive(Clone, Copy, ValueEnum)]
enum RulesFormat {
    Human,
    Json,
}

fn serve(backend: &str) -> Result<ExitCode, String> {
    let fixture = tokenstore_harness::builtin::dir_fixture(backend, None).ok_or_else(|| {
        format!("serve takes a store that keeps its storage in a directory, not {backend:?}: one of memory, list, sqlite, sqlite-memory, file")
    })?;
    tokenstore_harness::serve::serve(&fixture)
        .map(|()| ExitCode::SUCCESS)
        .map_err(|e| format!("serving {backend}: {e}"))
}

/// A one-line error and exit status 2.
fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("tokenstore-check: {message}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.to_string();
            let line: Vec<&str> = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .filter(|l| !l.is_empty())
                .collect();
            let line = line.join(" ");
            let line = line.trim_start_matches("error: ");
            return usage_error(format!("{line} (see tokenstore-check --help)"));
        }
    };
    if cli.show_secrets {
        tokenstore_harness::show::show_secrets();
    }
    let result = match cli.command {
        Command::Run {
            stores,
            sequences,
            format,
            out,
            replay_dir,
            baseline,
            write_baseline,
        } => {
            let options = RunOptions {
                replay_dir: Some(replay_dir),
                ..sequences.options()
            };
            run(&stores, &options, format, out, baseline, write_baseline)
        }
        Command::Replay { file, stores } => replay(file, &stores),
        Command::Diff { stores, sequences } => compare(&stores, &sequences.options()),
        Command::Bench {
            stores,
            sizes,
            samples,
            budget,
            format,
            out,
        } => bench(&stores, &sizes, samples, budget, format, &out),
        Command::Rules { format } => {
            print_rules(format);
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { backend } => serve(&backend),
    };
    result.unwrap_or_else(usage_error)
}

impl Sequences {
    fn options(&self) -> RunOptions {
        RunOptions {
            cases: self.cases,
            seed: self.seed.unwrap_or_else(random_seed),
            max_steps: self.max_steps,
            ..RunOptions::default()
        }
    }
}

fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

impl Stores {
    /// The fixtures named: the backends, then the adapter; `default` when none is named.
    fn fixtures(&self, default: &[&str]) -> Result<Vec<Box<dyn StoreFixture>>, String> {
        if self.adapter == self.command.is_empty() {
            return Err("--adapter needs the adapter command after `--`, and a command after `--` needs --adapter".into());
        }
        let mut names: Vec<String> = Vec::new();
        for name in &self.backends {
            if name == "all" {
                names.extend(builtin::all_names().iter().map(|s| s.to_string()));
            } else {
                names.push(name.clone());
            }
        }
        if names.is_empty() && !self.adapter {
            names.extend(default.iter().map(|s| s.to_string()));
        }
        names.dedup();
        let mut fixtures = names
            .iter()
            .map(|name| {
                builtin::fixture(name).ok_or_else(|| {
                    format!(
                        "unknown backend {name:?}; known: {}, or all",
                        builtin::all_names().join(", ")
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if self.adapter {
            if !(self.adapter_timeout > 0.0 && self.adapter_timeout.is_finite()) {
                return Err(format!(
                    "--adapter-timeout must be a positive number of seconds, got {}",
                    self.adapter_timeout
                ));
            }
            let timeout = Duration::from_secs_f64(self.adapter_timeout);
            fixtures.push(Box::new(AdapterFixture::start(
                &self.command,
                timeout,
                self.allow_destructive,
            )?));
        }
        Ok(fixtures)
    }
}

fn run(
    stores: &Stores,
    options: &RunOptions,
    format: Format,
    out: Option<PathBuf>,
    baseline: Option<PathBuf>,
    write_baseline: Option<PathBuf>,
) -> Result<ExitCode, String> {
    let baseline = baseline.map(|path| Baseline::read(&path)).transpose()?;
    let fixtures = stores.fixtures(&builtin::EMBEDDED)?;
    let checks_per_store = tokenstore_harness::checks::all().len() as u64 + 2;
    let bar = ProgressBar::new(checks_per_store * fixtures.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed}] {bar:30} {pos}/{len} {msg}")
            .expect("the template is valid"),
    );
    let mut report = Report::default();
    for fixture in &fixtures {
        let name = fixture.name().to_owned();
        let progress = |step: &str| {
            bar.set_message(format!("{name}: {step}"));
            bar.inc(1);
        };
        report
            .stores
            .push(runner::check_store(fixture.as_ref(), options, &progress));
    }
    bar.finish_and_clear();
    let text = match format {
        Format::Human => report.to_human(),
        Format::Json => report.to_json(),
        Format::Junit => report.to_junit(),
    };
    match out {
        Some(path) => {
            std::fs::write(&path, &text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        None => println!("{text}"),
    }
    if let Some(path) = write_baseline {
        let mut written = Baseline::of(&report);
        if let Ok(old) = Baseline::read(&path) {
            written
                .known_failures
                .retain(|k| !old.intermittent.contains(k));
            written.intermittent = old.intermittent;
        }
        written.write(&path)?;
        eprintln!("wrote baseline {}", path.display());
    }
    let passed = match baseline {
        None => !report.must_failed(),
        Some(baseline) => {
            let verdict = baseline.compare(&report);
            eprintln!("baseline: {} known failures still fail", verdict.known);
            for new in &verdict.new {
                eprintln!("baseline: NEW failure: {} {}", new.store, new.rule);
            }
            for stale in &verdict.stale {
                eprintln!(
                    "baseline: STALE entry, now passes: {} {} (remove it from the baseline)",
                    stale.store, stale.rule
                );
            }
            verdict.passes()
        }
    };
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The one store a command needs.
fn one_store(stores: &Stores) -> Result<Box<dyn StoreFixture>, String> {
    let mut fixtures = stores.fixtures(&[])?;
    match fixtures.len() {
        1 => Ok(fixtures.remove(0)),
        n => Err(format!(
            "name exactly one store (--backend NAME or --adapter -- CMD), not {n}"
        )),
    }
}

fn replay(path: PathBuf, stores: &Stores) -> Result<ExitCode, String> {
    let file = ReplayFile::read(&path)?;
    let fixture = one_store(stores)?;
    let rt = runner::runtime();
    let (transcript, result) = rt
        .block_on(async {
            let profile = profile::detect(fixture.as_ref())
                .await
                .map_err(|e| e.to_string())?;
            let storage = fixture.storage().await?;
            let outcome = machine::execute(&*storage, &file.steps, profile.choices, None).await;
            let _ = storage.remove().await;
            Ok::<_, String>(outcome)
        })
        .map_err(|e| format!("cannot run {}: {e}", fixture.name()))?;
    println!(
        "replaying {} ({} steps, found on {} breaking {})",
        path.display(),
        file.steps.len(),
        file.backend,
        file.rule
    );
    for line in &transcript {
        println!("  {line}");
    }
    Ok(match result {
        Ok(()) => {
            println!("{}: the sequence passes", fixture.name());
            ExitCode::SUCCESS
        }
        Err(v) => {
            println!("{}: still breaks {}: {}", fixture.name(), v.rule, v.message);
            ExitCode::from(1)
        }
    })
}

fn compare(stores: &Stores, options: &RunOptions) -> Result<ExitCode, String> {
    let fixtures = stores.fixtures(&[])?;
    let [left, right] = fixtures.as_slice() else {
        return Err(format!(
            "diff compares exactly two stores, got {}",
            fixtures.len()
        ));
    };
    let (l, r) = (left.name(), right.name());
    match diff::diff(left.as_ref(), right.as_ref(), options)? {
        None => {
            println!(
                "{l} and {r} agreed on {} sequences (seed {})",
                options.cases, options.seed
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(d) => {
            println!(
                "{l} and {r} diverge at step {} of {} (seed {}):",
                d.at + 1,
                d.steps.len(),
                options.seed
            );
            for (i, (a, b)) in d.left.iter().zip(&d.right).enumerate() {
                if a == b {
                    println!("  {a}");
                } else {
                    println!("  {l}: {a}");
                    println!("  {r}: {b}");
                }
                if i == d.at {
                    break;
                }
            }
            match &d.expected {
                Some(why) => println!("expected: {why}"),
                None => println!(
                    "a real divergence: the stores made the same choices and hold the same values"
                ),
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// What `bench` measures: built-in backends by name, and the adapter store.
enum BenchTarget {
    Builtin(tokenstore_bench::BenchBackend),
    Store(Box<dyn StoreFixture>),
}

fn bench(
    stores: &Stores,
    sizes: &str,
    samples: usize,
    budget: f64,
    format: RulesFormat,
    out: &std::path::Path,
) -> Result<ExitCode, String> {
    use tokenstore_bench::{chart, measure, BenchBackend, Op};
    let sizes: Vec<usize> = sizes
        .split(',')
        .map(|s| s.trim().parse().ok().filter(|&n: &usize| n > 0))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            format!("--sizes takes positive numbers separated by commas, got {sizes:?}")
        })?;
    if !(budget > 0.0 && budget.is_finite()) || samples == 0 {
        return Err("--samples and --budget must be positive".into());
    }
    let defaults = ["memory", "list", "sqlite", "file"];
    let names: Vec<String> = if stores.backends.is_empty() && !stores.adapter {
        defaults.iter().map(|s| s.to_string()).collect()
    } else if stores.backends.iter().any(|b| b == "all") {
        BenchBackend::ALL
            .iter()
            .map(|b| b.name().to_owned())
            .collect()
    } else {
        stores.backends.clone()
    };
    let mut targets: Vec<BenchTarget> = names
        .iter()
        .map(|n| {
            BenchBackend::from_name(n)
                .map(BenchTarget::Builtin)
                .ok_or_else(|| {
                    let known: Vec<_> = BenchBackend::ALL.iter().map(|b| b.name()).collect();
                    format!(
                        "cannot benchmark {n:?}; known: {}, or all",
                        known.join(", ")
                    )
                })
        })
        .collect::<Result<_, _>>()?;
    if stores.adapter {
        let only_adapter = Stores {
            backends: Vec::new(),
            ..stores.clone()
        };
        targets.extend(
            only_adapter
                .fixtures(&[])?
                .into_iter()
                .map(BenchTarget::Store),
        );
    }
    let rt = runner::runtime();
    let bar = ProgressBar::new((targets.len() * sizes.len() * Op::ALL.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed}] {bar:30} {pos}/{len} {msg}")
            .expect("valid"),
    );
    let budget = Duration::from_secs_f64(budget);
    let mut results = Vec::new();
    let mut failures = 0;
    for target in &targets {
        for &size in &sizes {
            let prepared = rt.block_on(async {
                match target {
                    BenchTarget::Builtin(backend) => backend.prepare(size).await,
                    BenchTarget::Store(fixture) => {
                        let storage = fixture.storage().await?;
                        let store = storage
                            .open(tokenstore_harness::MAIN_NAMESPACE)
                            .await
                            .map_err(|e| e.to_string())?;
                        tokenstore_bench::Bench::of_store(fixture.name(), store, size).await
                    }
                }
            });
            let prepared = match prepared {
                Ok(p) => p,
                Err(e) => {
                    bar.println(format!("skipped: {e}"));
                    bar.inc(Op::ALL.len() as u64);
                    continue;
                }
            };
            for op in Op::ALL {
                bar.set_message(format!("{} {} at {size}", prepared.backend, op.name()));
                match rt.block_on(measure::measure(&prepared, op, samples, budget)) {
                    Ok(result) => results.push(result),
                    Err(e) => {
                        failures += 1;
                        bar.println(format!("failed: {e}"));
                    }
                }
                bar.inc(1);
            }
            rt.block_on(prepared.cleanup());
        }
    }
    bar.finish_and_clear();
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let json = serde_json::to_string_pretty(&results).expect("plain data");
    std::fs::write(out.join("bench.json"), &json)
        .map_err(|e| format!("cannot write bench.json: {e}"))?;
    for op in Op::ALL
        .into_iter()
        .filter(|op| results.iter().any(|r| r.op == op.name()))
    {
        let file = out.join(format!("{}.svg", op.name().replace('/', "-")));
        chart::draw(&results, op.name(), &file)?;
    }
    match format {
        RulesFormat::Json => println!("{json}"),
        RulesFormat::Human => {
            println!(
                "{:10} {:26} {:>8} {:>12} {:>12} {:>12} {:>7}",
                "backend", "operation", "size", "p50", "p99", "floor p50", "ratio"
            );
            for r in &results {
                let floor = r.floor_p50_ns.map(micros).unwrap_or_else(|| "-".into());
                let ratio = r
                    .ratio()
                    .map(|x| format!("{x:.2}x"))
                    .unwrap_or_else(|| "-".into());
                println!(
                    "{:10} {:26} {:>8} {:>12} {:>12} {:>12} {:>7}",
                    r.backend,
                    r.op,
                    r.size,
                    micros(r.p50_ns),
                    micros(r.p99_ns),
                    floor,
                    ratio
                );
            }
            println!(
                "wrote {} and one chart per operation",
                out.join("bench.json").display()
            );
        }
    }
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn micros(ns: u64) -> String {
    format!("{:.1} µs", ns as f64 / 1000.0)
}

fn print_rules(format: RulesFormat) {
    let table = rules::rules();
    match format {
        RulesFormat::Json => {
            let rows: Vec<_> = table
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id, "level": r.level.as_str(), "title": r.title,
                        "methods": r.methods, "requires": r.requires, "choices": r.choices,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&rows).expect("plain data")
            );
        }
        RulesFormat::Human => {
            for r in table {
                let requires = r
                    .requires
                    .map(|c| format!(" [needs {c:?}]").to_lowercase())
                    .unwrap_or_default();
                let choices = if r.choices.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", r.choices.join(" | "))
                };
                println!(
                    "{:32} {:5} {}{choices}{requires}",
                    r.id,
                    r.level.as_str(),
                    r.title
                );
            }
        }
    }
}
