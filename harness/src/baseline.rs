//! Baselines: the failures a store is known to have, so that CI can gate a store that does not
//! conform yet on "no new failures" (and on "no stale entries": a listed failure that now passes
//! must be removed from the file).

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;
use tokenstore_suite::report::{Report, Status};

/// The format tag of a baseline file.
pub const FORMAT: &str = "tokenstore-baseline/1";

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KnownFailure {
    pub store: String,
    pub rule: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Baseline {
    pub format: String,
    pub known_failures: BTreeSet<KnownFailure>,
    /// Failures that may or may not show in a run (a race that a run does not always hit):
    /// never new, never stale. Written by hand; `--write-baseline` keeps the file's list.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub intermittent: BTreeSet<KnownFailure>,
}

/// How a run compares with a baseline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Failed, and not in the baseline.
    pub new: Vec<KnownFailure>,
    /// In the baseline, among the stores checked, and no longer failing.
    pub stale: Vec<KnownFailure>,
    /// In the baseline and still failing.
    pub known: usize,
}

impl Verdict {
    pub fn passes(&self) -> bool {
        self.new.is_empty() && self.stale.is_empty()
    }
}

impl Baseline {
    /// Every failed or blocked rule of the report (a blocked rule is known not to pass).
    pub fn of(report: &Report) -> Baseline {
        let known_failures = report
            .stores
            .iter()
            .flat_map(|s| {
                s.rules
                    .iter()
                    .filter(|r| matches!(r.status, Status::Fail | Status::Blocked))
                    .map(|r| KnownFailure {
                        store: s.name.clone(),
                        rule: r.id.clone(),
                    })
            })
            .collect();
        Baseline {
            format: FORMAT.into(),
            known_failures,
            intermittent: BTreeSet::new(),
        }
    }

    pub fn read(path: &Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read baseline {}: {e}", path.display()))?;
        let baseline: Baseline = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is not a baseline file ({e}); write one with --write-baseline",
                path.display()
            )
        })?;
        if baseline.format != FORMAT {
            return Err(format!(
                "{} has format {:?}; this tokenstore-check reads {FORMAT:?}",
                path.display(),
                baseline.format
            ));
        }
        for known in &baseline.known_failures {
            if tokenstore_suite::rules::rule(&known.rule).is_none() {
                return Err(format!(
                    "{} lists unknown rule {:?}",
                    path.display(),
                    known.rule
                ));
            }
        }
        Ok(baseline)
    }

    pub fn write(&self, path: &Path) -> Result<(), String> {
        let json = serde_json::to_string_pretty(self).expect("a baseline is plain data");
        std::fs::write(path, json + "\n")
            .map_err(|e| format!("cannot write baseline {}: {e}", path.display()))
    }

    /// Compares a run with the baseline; entries for stores the run did not check are ignored.
    pub fn compare(&self, report: &Report) -> Verdict {
        let mut now = Baseline::of(report).known_failures;
        now.retain(|k| !self.intermittent.contains(k));
        let checked: BTreeSet<&str> = report.stores.iter().map(|s| s.name.as_str()).collect();
        Verdict {
            new: now.difference(&self.known_failures).cloned().collect(),
            stale: self
                .known_failures
                .iter()
                .filter(|k| checked.contains(k.store.as_str()) && !now.contains(*k))
                .cloned()
                .collect(),
            known: now.intersection(&self.known_failures).count(),
        }
    }
}
