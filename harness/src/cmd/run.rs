//! `tokenstore-check run`: checks stores against every rule, prints or writes the report (human,
//! JSON, JUnit, HTML, Markdown; several at once with `--report`), and gates on a baseline of
//! known failures.

use crate::baseline::Baseline;
use crate::builtin;
use crate::cli::{Format, Stores};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use tokenstore_suite::{runner, Report, RunOptions};

/// Where the report goes: `format` to `out` (standard output without one), and each of
/// `reports` to its file.
pub struct Outputs {
    pub format: Format,
    pub out: Option<PathBuf>,
    pub reports: Vec<(Format, PathBuf)>,
    /// A directory of benchmark charts (`*.svg`) for the HTML report.
    pub charts: Option<PathBuf>,
}

fn render(report: &Report, format: Format, charts: &[(String, String)]) -> String {
    match format {
        Format::Human => report.to_human_with(&builtin::replay_args),
        Format::Json => report.to_json(),
        Format::Junit => report.to_junit(),
        Format::Html => report.to_html_with_charts(charts),
        Format::Markdown => report.to_markdown(),
    }
}

/// The `*.svg` files of `dir`, by name (without `.svg`), sorted.
fn read_charts(dir: &std::path::Path) -> Result<Vec<(String, String)>, String> {
    let failed = |e: std::io::Error| format!("--charts {}: {e}", dir.display());
    let mut charts = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(failed)? {
        let path = entry.map_err(failed)?.path();
        if path.extension().is_some_and(|e| e == "svg") {
            let title = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            charts.push((title, std::fs::read_to_string(&path).map_err(failed)?));
        }
    }
    if charts.is_empty() {
        return Err(format!(
            "--charts {}: no .svg file there (tokenstore-check bench --out DIR writes them)",
            dir.display()
        ));
    }
    charts.sort();
    Ok(charts)
}

pub fn run(
    stores: &Stores,
    options: &RunOptions,
    outputs: &Outputs,
    baseline: Option<PathBuf>,
    write_baseline: Option<PathBuf>,
) -> Result<ExitCode, String> {
    let baseline = baseline.map(|path| Baseline::read(&path)).transpose()?;
    let charts = match &outputs.charts {
        Some(dir) => read_charts(dir)?,
        None => Vec::new(),
    };
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
    let text = render(&report, outputs.format, &charts);
    match &outputs.out {
        Some(path) => write(path, &text)?,
        None => println!("{text}"),
    }
    for (format, path) in &outputs.reports {
        write(path, &render(&report, *format, &charts))?;
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
            for added in &verdict.new_rules {
                eprintln!(
                    "baseline: new rule since your baseline (spec {}; this kit judges by spec {}): {} {} fails; the kit changed, not the store (CHANGELOG.md): fix it, or record it with --write-baseline",
                    baseline.spec_version.unwrap_or(1),
                    tokenstore_suite::rules::spec_version(),
                    added.store,
                    added.rule
                );
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

fn write(path: &std::path::Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
