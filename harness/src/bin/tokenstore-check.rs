//! `tokenstore-check`: runs the conformance suite against built-in backends and adapter stores,
//! gates CI with baselines, replays saved failures, compares two stores, measures lookups, and
//! prints the rule table. Exit status: 0 when no MUST rule failed (or, with a baseline, nothing
//! new failed and nothing listed passed), 1 otherwise, 2 for bad arguments, an unknown backend,
//! an adapter that does not start, or an unreadable replay or baseline file.
//!
//! This file parses and dispatches; each subcommand is a module of `tokenstore_check::cmd`.

use clap::{CommandFactory, FromArgMatches};
use std::process::ExitCode;
use tokenstore_check::cli::{Cli, Command};
use tokenstore_check::cmd;
use tokenstore_suite::RunOptions;

/// A one-line error and exit status 2.
fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("tokenstore-check: {message}");
    ExitCode::from(2)
}

/// clap's error as one line: what was wrong, without the usage block.
fn one_line(e: &clap::Error) -> String {
    let text = e.to_string();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .collect();
    let line = lines.join(" ");
    format!(
        "{} (see tokenstore-check --help)",
        line.trim_start_matches("error: ")
    )
}

fn main() -> ExitCode {
    // `--version` names the spec's version beside the kit's.
    let versions: &'static str = tokenstore_suite::rules::versions().leak();
    let parsed = Cli::command()
        .version(versions)
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => return usage_error(one_line(&e)),
    };
    if cli.show_secrets {
        tokenstore_suite::show::show_secrets();
    }
    let result = match cli.command {
        Command::Run {
            stores,
            sequences,
            load,
            format,
            out,
            reports,
            charts,
            replay_dir,
            baseline,
            write_baseline,
        } => {
            let options = RunOptions {
                replay_dir: Some(replay_dir),
                load: load.load(),
                ..sequences.options()
            };
            let outputs = cmd::run::Outputs {
                format,
                out,
                reports,
                charts,
            };
            cmd::run::run(&stores, &options, &outputs, baseline, write_baseline)
        }
        Command::Replay { file, stores } => cmd::replay::replay(file, &stores),
        Command::Diff { stores, sequences } => cmd::diff::compare(&stores, &sequences.options()),
        Command::Bench { stores, args } => cmd::bench::bench(&stores, &args),
        Command::Rules { format } => {
            cmd::rules::print_rules(format);
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { backend, url } => cmd::serve::serve(&backend, url.as_deref()),
    };
    result.unwrap_or_else(usage_error)
}
