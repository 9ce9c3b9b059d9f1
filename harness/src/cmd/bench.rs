//! `tokenstore-check bench`: the arguments of a benchmark run and its progress bar; the run
//! itself is `tokenstore_bench::run`, beside the benchmarks it drives.

use crate::cli::{BenchArgs, RulesFormat, Stores};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use tokenstore_backends::BACKENDS;
use tokenstore_bench::run::{self, Target};
use tokenstore_bench::Op;

struct Bar(ProgressBar);

impl run::Progress for Bar {
    fn step(&self, message: &str) {
        if !message.is_empty() {
            self.0.set_message(message.to_owned());
        }
        self.0.inc(1);
    }

    fn note(&self, line: String) {
        self.0.println(line);
    }
}

/// Positive numbers separated by commas, as `flag` takes them.
fn counts(flag: &str, text: &str) -> Result<Vec<usize>, String> {
    text.split(',')
        .map(|s| s.trim().parse().ok().filter(|&n: &usize| n > 0))
        .collect::<Option<_>>()
        .ok_or_else(|| format!("{flag} takes positive numbers separated by commas, got {text:?}"))
}

/// `bench --load`: throughput of the built-in backends named, at each size and client count.
fn load(
    stores: &Stores,
    sizes: &str,
    clients: &str,
    seconds: f64,
    format: RulesFormat,
    out: &Path,
) -> Result<ExitCode, String> {
    let sizes = counts("--sizes", sizes)?;
    let clients = counts("--clients", clients)?;
    if !(seconds > 0.0 && seconds.is_finite()) {
        return Err("--seconds must be positive".into());
    }
    if stores.names_an_adapter() {
        return Err("--load measures the built-in backends; leave out the adapter store".into());
    }
    let mut results = Vec::new();
    let mut failures = 0;
    for target in targets(stores, None)? {
        let Target::Builtin(backend) = target else {
            continue;
        };
        for &size in &sizes {
            eprintln!("{}: {size} tokens, {clients:?} clients", backend.name());
            match tokenstore_bench::load::measure(
                backend,
                size,
                &clients,
                Duration::from_secs_f64(seconds),
                &|line| eprintln!("  {line}"),
            ) {
                Ok(measured) => results.extend(measured),
                Err(e) => {
                    eprintln!("  {e}");
                    failures += 1;
                }
            }
        }
    }
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let json = serde_json::to_string_pretty(&results).expect("plain data");
    std::fs::write(out.join("load.json"), &json)
        .map_err(|e| format!("cannot write load.json: {e}"))?;
    match format {
        RulesFormat::Json => println!("{json}"),
        RulesFormat::Human => {
            print!("{}", tokenstore_bench::load::table(&results));
            println!("wrote {}", out.join("load.json").display());
        }
    }
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `bench`: latency (or throughput under `--load`) of the stores named.
pub fn bench(stores: &Stores, args: &BenchArgs) -> Result<ExitCode, String> {
    if args.load {
        return load(
            stores,
            &args.sizes,
            &args.clients,
            args.seconds,
            args.format,
            &args.out,
        );
    }
    let (samples, budget, format, out) = (args.samples, args.budget, args.format, &args.out);
    let sizes = counts("--sizes", &args.sizes)?;
    if !(budget > 0.0 && budget.is_finite()) || samples == 0 {
        return Err("--samples and --budget must be positive".into());
    }
    let mut earlier = Vec::new();
    for file in &args.with {
        earlier.extend(run::read(file)?);
    }
    let targets = targets(stores, args.label.as_deref())?;
    let bar = ProgressBar::new((targets.len() * sizes.len() * Op::ALL.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed}] {bar:30} {pos}/{len} {msg}")
            .expect("valid"),
    );
    let bar = Bar(bar);
    let outcome = run::run(
        &targets,
        &sizes,
        samples,
        Duration::from_secs_f64(budget),
        &earlier,
        out,
        &bar,
    )?;
    bar.0.finish_and_clear();
    match format {
        RulesFormat::Json => println!("{}", run::to_json(&outcome.results)),
        RulesFormat::Human => {
            print!("{}", run::table(&outcome.results));
            println!(
                "wrote {} and one chart per operation",
                out.join("bench.json").display()
            );
        }
    }
    Ok(if outcome.failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The built-in backends named (all of them for `all`, the embedded ones for none), then the
/// adapter store, under `label` when given.
fn targets(stores: &Stores, label: Option<&str>) -> Result<Vec<Target>, String> {
    let benchmarked = || BACKENDS.into_iter().filter(|b| b.benchmarked());
    let names: Vec<String> = if stores.backends.is_empty() && !stores.names_an_adapter() {
        // The embedded ones: they need no server.
        benchmarked()
            .filter(|b| b.server().is_none())
            .map(|b| b.name().to_owned())
            .collect()
    } else if stores.backends.iter().any(|b| b == "all") {
        benchmarked().map(|b| b.name().to_owned()).collect()
    } else {
        stores.backends.clone()
    };
    let mut targets: Vec<Target> = names
        .iter()
        .map(|n| {
            benchmarked()
                .find(|b| b.name() == n)
                .map(Target::Builtin)
                .ok_or_else(|| {
                    let known: Vec<_> = benchmarked().map(|b| b.name()).collect();
                    format!(
                        "cannot benchmark {n:?}; known: {}, or all",
                        known.join(", ")
                    )
                })
        })
        .collect::<Result<_, _>>()?;
    if stores.names_an_adapter() {
        let only_adapter = Stores {
            backends: Vec::new(),
            ..stores.clone()
        };
        targets.extend(only_adapter.fixtures(&[])?.into_iter().map(|fixture| {
            let name = label.unwrap_or(fixture.name()).to_owned();
            Target::Store { fixture, name }
        }));
    }
    Ok(targets)
}
