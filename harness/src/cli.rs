//! The command line of `tokenstore-check`: its subcommands and their arguments (clap), and how
//! the store arguments become fixtures.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;
use tokenstore_suite::{AdapterFixture, RunOptions, StoreFixture};

use crate::builtin;

#[derive(Parser)]
#[command(
    name = "tokenstore-check",
    version,
    about = "Conformance checks for OAuth TokenStore implementations"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Print client secrets and access, refresh and grant tokens in full (default: a fingerprint).
    #[arg(long, global = true)]
    pub show_secrets: bool,
}

/// Which stores a command works on.
#[derive(Args, Clone)]
pub struct Stores {
    /// A built-in backend (repeatable); `all` for every backend compiled in.
    #[arg(long = "backend", value_name = "NAME")]
    pub backends: Vec<String>,
    /// Also check the store behind an adapter: the command follows `--`.
    #[arg(long, conflicts_with_all = ["python", "node"])]
    pub adapter: bool,
    /// Also check a Python store (`module:Class`, imported from the working directory) behind
    /// the kit's own Python adapter; the adapter's other flags may follow `--`.
    #[arg(long, value_name = "MODULE:CLASS", conflicts_with = "node")]
    pub python: Option<String>,
    /// Also check a Node.js or TypeScript store (`file.mjs:Export`) behind the kit's own Node
    /// adapter; the adapter's other flags may follow `--`.
    #[arg(long, value_name = "FILE:EXPORT")]
    pub node: Option<String>,
    /// The constructor's arguments of the --python or --node store, JSON.
    #[arg(long, value_name = "JSON")]
    pub kwargs: Option<String>,
    /// Seconds an adapter may take to answer one request.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub adapter_timeout: f64,
    /// The server the --python, --node or --adapter store talks to (repeatable): a
    /// `mysql://`, `postgres://` or `redis://` URL with the rights to list and drop its clients.
    /// The server-loss tier then drops the adapter process's connections there.
    #[arg(long = "server", value_name = "URL")]
    pub servers: Vec<String>,
    /// Check an adapter store even if it already holds tokens (they are deleted).
    #[arg(long)]
    pub allow_destructive: bool,
    /// The adapter command and its arguments, after `--` (with --python or --node: more of the
    /// adapter's flags).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// How the model-based sequences are generated.
#[derive(Args)]
pub struct Sequences {
    /// Sequences tried per store.
    #[arg(long, default_value_t = 256)]
    pub cases: u32,
    /// Seed (default: random, printed in the report).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Longest generated sequence.
    #[arg(long, default_value_t = 40)]
    pub max_steps: usize,
    /// Check only this rule, or this group of rules such as `crash` or `find` (repeatable);
    /// the others are reported as skipped unless a check that ran found them broken.
    #[arg(long, value_name = "RULE|GROUP", value_parser = parse_only)]
    pub only: Vec<String>,
}

/// One `--only` name: a rule id or a group of the rule table.
fn parse_only(name: &str) -> Result<String, String> {
    tokenstore_suite::Selection::of(&[name]).map(|_| name.to_owned())
}

/// The load of the tiers that run calls at once.
/// The options of `bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// Store sizes, comma-separated.
    #[arg(long, value_name = "N,N,...", default_value = "1000,10000,100000")]
    pub sizes: String,
    /// Most calls timed per operation and size.
    #[arg(long, default_value_t = 500)]
    pub samples: usize,
    /// Seconds spent at most timing one operation at one size (at least 10 calls are timed).
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    pub budget: f64,
    #[arg(long, value_enum, default_value_t = RulesFormat::Human)]
    pub format: RulesFormat,
    /// Directory for bench.json and one SVG chart per operation.
    #[arg(long, value_name = "DIR", default_value = "tokenstore-bench")]
    pub out: PathBuf,
    /// The bench.json of an earlier run (the official stores', say) to chart and list beside
    /// this run's; repeatable.
    #[arg(long = "with", value_name = "FILE")]
    pub with: Vec<PathBuf>,
    /// The name the adapter store is reported and charted under (default: the name its adapter
    /// gives, such as FileStore).
    #[arg(long, value_name = "NAME")]
    pub label: Option<String>,
    /// Measure throughput instead: finds and saves per second at each --clients count,
    /// beside the server's own load tool (redis-benchmark, pgbench, mysqlslap); writes
    /// load.json.
    #[arg(long)]
    pub load: bool,
    /// Client counts of --load, comma-separated.
    #[arg(long, value_name = "N,N,...", default_value = "1,8,32")]
    pub clients: String,
    /// Seconds each operation runs at each client count under --load.
    #[arg(long, value_name = "SECONDS", default_value_t = 3.0)]
    pub seconds: f64,
}

#[derive(Args)]
pub struct LoadArgs {
    /// Tasks the concurrency tier's checks call one store object from at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u64).range(2..=1024))]
    pub clients: u64,
    /// Processes the processes tier's load check starts on one storage.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u64).range(2..=256))]
    pub processes: u64,
}

impl LoadArgs {
    pub fn load(&self) -> tokenstore_suite::Load {
        tokenstore_suite::Load {
            tasks: self.clients as usize,
            processes: self.processes as usize,
        }
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Check stores against every rule and print a verdict per rule and store. Default: the
    /// embedded backends.
    Run {
        #[command(flatten)]
        stores: Stores,
        #[command(flatten)]
        sequences: Sequences,
        #[command(flatten)]
        load: LoadArgs,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Write the report here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Also write the report in FORMAT to FILE (repeatable): `--report junit=junit.xml
        /// --report html=report.html`.
        #[arg(long = "report", value_name = "FORMAT=FILE", value_parser = parse_report)]
        reports: Vec<(Format, PathBuf)>,
        /// Draw the benchmark charts in this directory (`bench --out DIR`) in the HTML report.
        #[arg(long, value_name = "DIR")]
        charts: Option<PathBuf>,
        /// Where failing sequences are saved as replay files.
        #[arg(long, value_name = "DIR", default_value = "tokenstore-replays")]
        replay_dir: PathBuf,
        /// Known failures: fail only on a failure not listed, or a listed one that now passes.
        #[arg(long, value_name = "FILE", conflicts_with = "only")]
        baseline: Option<PathBuf>,
        /// Record this run's failures as the baseline.
        #[arg(long, value_name = "FILE", conflicts_with = "only")]
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
    /// Measure lookup latency per operation and store size, beside each backend's raw floor and
    /// the server's own client.
    Bench {
        #[command(flatten)]
        stores: Stores,
        #[command(flatten)]
        args: BenchArgs,
    },
    /// Serve a built-in store over the adapter protocol on standard input and output: what the
    /// processes and crash tiers start.
    Serve {
        #[arg(long, value_name = "NAME")]
        backend: String,
        /// The server of a server backend (default: its TOKENSTORE_<SERVER>_URL).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
    /// Print the rule table.
    Rules {
        #[arg(long, value_enum, default_value_t = RulesFormat::Human)]
        format: RulesFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Junit,
    /// One self-contained page: the rule matrix, each failure's story, the profiles.
    Html,
    /// A short summary for a CI job's summary page.
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RulesFormat {
    Human,
    Json,
}

/// `FORMAT=FILE` of `--report`.
fn parse_report(text: &str) -> Result<(Format, PathBuf), String> {
    let (format, file) = text
        .split_once('=')
        .ok_or_else(|| format!("want FORMAT=FILE, such as html=report.html, got {text:?}"))?;
    if file.is_empty() {
        return Err(format!("no file after {format}="));
    }
    let format = Format::from_str(format, true)
        .map_err(|_| format!("unknown format {format:?}: human, json, junit, html or markdown"))?;
    Ok((format, PathBuf::from(file)))
}

impl Sequences {
    /// The run options these arguments choose.
    pub fn options(&self) -> RunOptions {
        RunOptions {
            cases: self.cases,
            seed: self.seed.unwrap_or_else(random_seed),
            max_steps: self.max_steps,
            only: tokenstore_suite::Selection::of(&self.only)
                .expect("each --only name was checked when it was parsed"),
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
    pub fn fixtures(&self, default: &[&str]) -> Result<Vec<Box<dyn StoreFixture>>, String> {
        let adapter = self.adapter_command()?;
        let mut names: Vec<String> = Vec::new();
        for name in &self.backends {
            if name == "all" {
                names.extend(builtin::all_names().iter().map(|s| s.to_string()));
            } else {
                names.push(name.clone());
            }
        }
        if names.is_empty() && adapter.is_none() {
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
        if let Some(command) = adapter {
            if !(self.adapter_timeout > 0.0 && self.adapter_timeout.is_finite()) {
                return Err(format!(
                    "--adapter-timeout must be a positive number of seconds, got {}",
                    self.adapter_timeout
                ));
            }
            let timeout = Duration::from_secs_f64(self.adapter_timeout);
            let killer = match self.servers.is_empty() {
                true => None,
                false => Some(tokenstore_backends::ServerKiller::new(&self.servers)?),
            };
            let mut fixture = AdapterFixture::start(&command, timeout, self.allow_destructive)?;
            if let Some(killer) = killer {
                fixture = fixture.with_connection_killer(std::sync::Arc::new(killer));
            }
            fixtures.push(Box::new(fixture));
        } else if !self.servers.is_empty() {
            return Err("--server names the server of a store behind an adapter: give it with --python, --node or --adapter".into());
        }
        Ok(fixtures)
    }

    /// Whether a store behind an adapter is named (`--adapter`, `--python` or `--node`).
    pub fn names_an_adapter(&self) -> bool {
        self.adapter || self.python.is_some() || self.node.is_some()
    }

    /// The adapter command these arguments name, if any: the one after `--` with `--adapter`,
    /// or the kit's own Python or Node adapter for `--python` or `--node`.
    pub fn adapter_command(&self) -> Result<Option<Vec<String>>, String> {
        let mut extra = Vec::new();
        if let Some(kwargs) = &self.kwargs {
            if self.python.is_none() && self.node.is_none() {
                return Err("--kwargs is for the store of --python or --node; after --adapter -- CMD, give it to the adapter".into());
            }
            extra.extend(["--kwargs".to_owned(), kwargs.clone()]);
        }
        extra.extend(self.command.iter().cloned());
        if let Some(store) = &self.python {
            return crate::adapters::python_command(store, &extra).map(Some);
        }
        if let Some(store) = &self.node {
            return crate::adapters::node_command(store, &extra).map(Some);
        }
        if self.adapter == self.command.is_empty() {
            return Err("--adapter needs the adapter command after `--`, and a command after `--` needs --adapter, --python or --node".into());
        }
        Ok(self.adapter.then(|| self.command.clone()))
    }
}

/// The one store a command needs.
pub fn one_store(stores: &Stores) -> Result<Box<dyn StoreFixture>, String> {
    let mut fixtures = stores.fixtures(&[])?;
    match fixtures.len() {
        1 => Ok(fixtures.remove(0)),
        n => Err(format!(
            "name exactly one store (--backend NAME, --python MODULE:CLASS, --node FILE:EXPORT or --adapter -- CMD), not {n}"
        )),
    }
}
