//! `tokenstore-check`: runs the conformance suite against the built-in backends, prints the rule
//! table, and replays saved failures. Exit status: 0 when no MUST rule failed, 1 when one did,
//! 2 for bad arguments, an unknown backend or an unreadable replay file.

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use tokenstore_harness::replay::ReplayFile;
use tokenstore_harness::{
    builtin, machine, profile, rules, runner, Report, RunOptions, StoreFixture,
};

#[derive(Parser)]
#[command(
    name = "tokenstore-check",
    version,
    about = "Conformance checks for OAuth TokenStore implementations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check stores against every rule and print a verdict per rule and store.
    Run {
        /// A backend to check (repeatable); `all` for every backend compiled in. Default: the
        /// embedded backends.
        #[arg(long = "backend", value_name = "NAME")]
        backends: Vec<String>,
        /// Sequences the model-based test tries per store.
        #[arg(long, default_value_t = 256)]
        cases: u32,
        /// Seed of the model-based test (default: random, printed in the report).
        #[arg(long)]
        seed: Option<u64>,
        /// Longest generated sequence.
        #[arg(long, default_value_t = 40)]
        max_steps: usize,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Write the report here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Where failing sequences are saved as replay files.
        #[arg(long, value_name = "DIR", default_value = "tokenstore-replays")]
        replay_dir: PathBuf,
    },
    /// Run a saved failing sequence again against a backend.
    Replay {
        file: PathBuf,
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
            return usage_error(format!(
                "{} (see tokenstore-check --help)",
                line.trim_start_matches("error: ")
            ));
        }
    };
    match cli.command {
        Command::Run {
            backends,
            cases,
            seed,
            max_steps,
            format,
            out,
            replay_dir,
        } => {
            let options = RunOptions {
                cases,
                seed: seed.unwrap_or_else(random_seed),
                max_steps,
                replay_dir: Some(replay_dir),
                ..RunOptions::default()
            };
            run(backends, options, format, out)
        }
        Command::Replay { file, backend } => replay(file, &backend),
        Command::Rules { format } => {
            print_rules(format);
            ExitCode::SUCCESS
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

fn fixtures(names: &[String]) -> Result<Vec<Box<dyn StoreFixture>>, String> {
    let mut wanted: Vec<String> = Vec::new();
    if names.is_empty() {
        wanted.extend(builtin::EMBEDDED.iter().map(|s| s.to_string()));
    }
    for name in names {
        if name == "all" {
            wanted.extend(builtin::all_names().iter().map(|s| s.to_string()));
        } else {
            wanted.push(name.clone());
        }
    }
    wanted.dedup();
    wanted
        .iter()
        .map(|name| {
            builtin::fixture(name).ok_or_else(|| {
                format!(
                    "unknown backend {name:?}; known: {}, or all",
                    builtin::all_names().join(", ")
                )
            })
        })
        .collect()
}

fn run(
    backends: Vec<String>,
    options: RunOptions,
    format: Format,
    out: Option<PathBuf>,
) -> ExitCode {
    let fixtures = match fixtures(&backends) {
        Ok(f) => f,
        Err(e) => return usage_error(e),
    };
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
            .push(runner::check_store(fixture.as_ref(), &options, &progress));
    }
    bar.finish_and_clear();
    let text = match format {
        Format::Human => report.to_human(),
        Format::Json => report.to_json(),
        Format::Junit => report.to_junit(),
    };
    match out {
        Some(path) => {
            if let Err(e) = std::fs::write(&path, &text) {
                return usage_error(format!("cannot write {}: {e}", path.display()));
            }
            eprintln!("wrote {}", path.display());
        }
        None => println!("{text}"),
    }
    if report.must_failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn replay(path: PathBuf, backend: &str) -> ExitCode {
    let file = match ReplayFile::read(&path) {
        Ok(f) => f,
        Err(e) => return usage_error(e),
    };
    let fixture = match fixtures(&[backend.to_owned()]) {
        Ok(mut f) => f.remove(0),
        Err(e) => return usage_error(e),
    };
    let rt = runner::runtime();
    let outcome = rt.block_on(async {
        let profile = profile::detect(fixture.as_ref()).await?;
        let storage = fixture.storage().await?;
        let outcome = machine::execute(&*storage, &file.steps, profile.choices, None).await;
        let _ = storage.remove().await;
        Ok::<_, String>(outcome)
    });
    let (transcript, result) = match outcome {
        Ok(o) => o,
        Err(e) => return usage_error(format!("cannot run {backend}: {e}")),
    };
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
    match result {
        Ok(()) => {
            println!("{backend}: the sequence passes");
            ExitCode::SUCCESS
        }
        Err(v) => {
            println!("{backend}: still breaks {}: {}", v.rule, v.message);
            ExitCode::from(1)
        }
    }
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
