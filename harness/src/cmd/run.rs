//! `tokenstore-check run`: checks stores against every rule, prints or writes the report (human,
//! JSON, JUnit), and gates on a baseline of known failures.

use crate::baseline::Baseline;
use crate::builtin;
use crate::cli::{Format, Stores};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use tokenstore_suite::{runner, Report, RunOptions};

pub fn run(
    stores: &Stores,
    options: &RunOptions,
    format: Format,
    out: Option<PathBuf>,
    baseline: Option<PathBuf>,
    write_baseline: Option<PathBuf>,
) -> Result<ExitCode, String> {
    let baseline = baseline.map(|path| Baseline::read(&path)).transpose()?;
    let fixtures = stores.fixtures(&builtin::embedded())?;
    let checks_per_store = tokenstore_suite::checks::all().len() as u64 + 2;
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
        Format::Human => report.to_human_with(&builtin::replay_args),
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
