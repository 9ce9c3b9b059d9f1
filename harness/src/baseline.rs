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
    /// The spec version of the kit that wrote it (absent in baselines written before specs had
    /// versions: spec 1). A failure of a rule added since is a new rule, not a regression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_version: Option<u32>,
    pub known_failures: BTreeSet<KnownFailure>,
    /// Failures that may or may not show in a run (a race that a run does not always hit):
    /// never new, never stale. Written by hand; `--write-baseline` keeps the file's list.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub intermittent: BTreeSet<KnownFailure>,
}

/// How a run compares with a baseline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Failed, not in the baseline, of a rule the baseline's spec already had: a regression.
    pub new: Vec<KnownFailure>,
    /// Failed, not in the baseline, of a rule added or made stricter since the baseline's spec:
    /// the kit changed, not the store (CHANGELOG.md); reported, not a regression.
    pub new_rules: Vec<KnownFailure>,
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
            spec_version: Some(tokenstore_suite::rules::spec_version()),
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
        let spec = self.spec_version.unwrap_or(1);
        let (new_rules, new): (Vec<KnownFailure>, Vec<KnownFailure>) = now
            .difference(&self.known_failures)
            .cloned()
            .partition(|k| tokenstore_suite::rules::rule(&k.rule).is_some_and(|r| r.since > spec));
        Verdict {
            new,
            new_rules,
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokenstore_suite::report::{RuleResult, StoreReport, Summary};
    use tokenstore_suite::rules::{rule, spec_version, Level};

    fn failing(rules: &[&str]) -> Report {
        Report {
            stores: vec![StoreReport {
                name: "s".into(),
                profile: Default::default(),
                capabilities: Default::default(),
                rules: rules
                    .iter()
                    .map(|id| RuleResult {
                        id: id.to_string(),
                        level: Level::Must,
                        status: Status::Fail,
                        message: None,
                        repro: None,
                        blocked_by: None,
                        likely_cause: None,
                    })
                    .collect(),
                summary: Summary::default(),
                model: None,
                root_causes: Vec::new(),
                resources: Vec::new(),
            }],
        }
    }

    /// A failure of a rule added since the baseline's spec is a new rule, not a regression; of
    /// an older rule, a regression; a baseline written by this kit has every rule's spec.
    #[test]
    fn a_rule_newer_than_the_baseline_is_not_a_regression() {
        let newer = "store.reopens";
        assert!(rule(newer).unwrap().since > 1);
        let mut baseline = Baseline::of(&failing(&[]));
        assert_eq!(baseline.spec_version, Some(spec_version()));
        baseline.spec_version = Some(1);
        let verdict = baseline.compare(&failing(&[newer, "save.merge"]));
        assert_eq!(verdict.new_rules.len(), 1);
        assert_eq!(verdict.new_rules[0].rule, newer);
        assert_eq!(verdict.new.len(), 1);
        assert_eq!(verdict.new[0].rule, "save.merge");
        assert!(!verdict.passes());
        assert!(baseline.compare(&failing(&[newer])).passes());
        baseline.spec_version = Some(spec_version());
        assert_eq!(baseline.compare(&failing(&[newer])).new.len(), 1);
    }
}
