//! The verdicts of a run and their renderings: a human matrix, JSON (a stable contract for CI),
//! and JUnit XML (one testcase per rule and store) here; a self-contained HTML page in
//! `html.rs`, a Markdown summary in `markdown.rs`.

use crate::rules::Level;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The JSON document `run --format json` prints.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub stores: Vec<StoreReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StoreReport {
    pub name: String,
    /// Implementation-defined rule id → the store's detected choice.
    pub profile: BTreeMap<String, String>,
    pub capabilities: crate::fixture::Capabilities,
    pub rules: Vec<RuleResult>,
    pub summary: Summary,
    /// The model-based run, when it ran.
    pub model: Option<ModelStats>,
    /// The store's failures as root causes, each once, the one that blocks most rules first
    /// ([`RootCause`]); what every rendering leads with.
    pub root_causes: Vec<RootCause>,
    /// What the store does to the resources of the app that runs it (connections it keeps after
    /// it is dropped), each once, in words; not a verdict of any rule.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
}

/// One failed rule as the cause of the verdicts it explains: its first message (with the calls
/// before it, in the rule's `repro`), the likely cause, and the rules it kept from being
/// checked.
#[derive(Clone, Debug, Serialize)]
pub struct RootCause {
    pub rule: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub likely_cause: Option<String>,
    /// The rules reported as blocked by this one.
    pub blocks: Vec<String>,
    /// Other failed rules whose failures show the same likely cause: one mistake seen by
    /// several rules (a lookup by the wrong field fails every key's rule), listed here rather
    /// than as root causes of their own. They still fail in the matrix.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub same_cause: Vec<String>,
}

impl RootCause {
    /// The root causes of `rules`: every failed rule, the ones that block most rules first
    /// (then in the spec's order), each with the first line of its message; failed rules that
    /// show the likely cause of one listed before them are folded into it (`same_cause`).
    pub fn of(rules: &[RuleResult]) -> Vec<RootCause> {
        let mut causes: Vec<RootCause> = rules
            .iter()
            .filter(|r| r.status == Status::Fail)
            .map(|r| RootCause {
                rule: r.id.clone(),
                message: r
                    .message
                    .as_deref()
                    .and_then(|m| m.split("; ").next())
                    .unwrap_or_default()
                    .to_owned(),
                likely_cause: r.likely_cause.clone(),
                blocks: rules
                    .iter()
                    .filter(|b| {
                        b.status == Status::Blocked && b.blocked_by.as_deref() == Some(&r.id)
                    })
                    .map(|b| b.id.clone())
                    .collect(),
                same_cause: Vec::new(),
            })
            .collect();
        causes.sort_by_key(|c| std::cmp::Reverse(c.blocks.len()));
        let mut folded: Vec<RootCause> = Vec::new();
        for cause in causes {
            let first = folded
                .iter_mut()
                .find(|f| f.likely_cause.is_some() && f.likely_cause == cause.likely_cause);
            match first {
                Some(first) => {
                    first.same_cause.push(cause.rule);
                    first.blocks.extend(cause.blocks);
                }
                None => folded.push(cause),
            }
        }
        folded
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct RuleResult {
    pub id: String,
    pub level: Level,
    pub status: Status,
    /// Why it failed or was skipped, or the detected choice of an IMPL rule.
    pub message: Option<String>,
    /// For a failure: the calls that led to it (the minimal steps of a model-based failure,
    /// with its replay file; the last calls of an example check).
    pub repro: Option<Repro>,
    /// For a blocked rule: the rule whose failure kept it from being checked, or `setup` when
    /// the store could not be opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<String>,
    /// For a failure whose evidence matches a well-known mistake: the likely cause and what to
    /// do ([`crate::causes`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub likely_cause: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Repro {
    pub replay_file: Option<String>,
    pub steps: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skip,
    /// Not checked: the kit could not prepare or open the store for it (see `blocked_by`).
    Blocked,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Rules not checked because the store could not be prepared for them.
    pub blocked: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct ModelStats {
    pub seed: u64,
    pub cases: u32,
    /// Steps run against the store, shrinking included.
    pub steps: u64,
    pub seconds: f64,
    pub steps_per_second: f64,
    /// Store calls: the steps, and the reads that check the store after them.
    pub calls: u64,
    pub calls_per_second: f64,
}

impl StoreReport {
    pub fn rule(&self, id: &str) -> Option<&RuleResult> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Whether a MUST rule failed, or any rule could not be checked: what makes `run` exit
    /// non-zero.
    pub fn must_failed(&self) -> bool {
        self.rules.iter().any(|r| {
            (r.level == Level::Must && r.status == Status::Fail) || r.status == Status::Blocked
        })
    }
}

/// `store: N root causes`, then one line each (with the rules it blocks and the likely
/// cause), then each finding about the store's resources, and a blank line; nothing when the
/// store failed no rule and has no such finding.
pub fn root_causes_in_words(store: &StoreReport) -> String {
    let mut out = String::new();
    for finding in &store.resources {
        let _ = writeln!(out, "{}: resources: {finding}", store.name);
    }
    let n = store.root_causes.len();
    if n == 0 {
        if !out.is_empty() {
            out.push('\n');
        }
        return out;
    }
    let _ = writeln!(
        out,
        "{}: {n} root cause{}",
        store.name,
        if n == 1 { "" } else { "s" }
    );
    for (i, cause) in store.root_causes.iter().enumerate() {
        let _ = write!(out, "  {}. {}: {}", i + 1, cause.rule, cause.message);
        if !cause.blocks.is_empty() {
            let _ = write!(
                out,
                " (blocks {} rule{}: {})",
                cause.blocks.len(),
                if cause.blocks.len() == 1 { "" } else { "s" },
                cause.blocks.join(", ")
            );
        }
        out.push('\n');
        if let Some(likely) = &cause.likely_cause {
            let _ = writeln!(out, "     {likely}");
        }
        if !cause.same_cause.is_empty() {
            let _ = writeln!(
                out,
                "     the same likely cause fails {} too",
                cause.same_cause.join(", ")
            );
        }
    }
    out.push('\n');
    out
}

impl Report {
    pub fn must_failed(&self) -> bool {
        self.stores.iter().any(StoreReport::must_failed)
    }

    /// The report as JSON: `kit_version` and `spec_version` (the rules it was judged by), then
    /// `stores`.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Versioned<'a> {
            kit_version: &'a str,
            spec_version: u32,
            #[serde(flatten)]
            report: &'a Report,
        }
        serde_json::to_string_pretty(&Versioned {
            kit_version: env!("CARGO_PKG_VERSION"),
            spec_version: crate::rules::spec_version(),
            report: self,
        })
        .expect("the report is plain data")
    }

    /// Rules down, stores across, then each failure with its message and minimal steps; a saved
    /// replay is shown with the arguments that name an adapter store (`--adapter -- ...`).
    pub fn to_human(&self) -> String {
        self.to_human_with(&|_| "--adapter -- ADAPTER COMMAND".to_owned())
    }

    /// [`Report::to_human`], with `replay_args(store name)` the arguments of `tokenstore-check
    /// replay` that name the store (`--backend NAME` for a built-in one).
    pub fn to_human_with(&self, replay_args: &dyn Fn(&str) -> String) -> String {
        let mut out: String = self.stores.iter().map(root_causes_in_words).collect();
        let width = crate::rules::rules()
            .iter()
            .map(|r| r.id.len())
            .max()
            .unwrap_or(10)
            + 2;
        let _ = write!(out, "{:width$}{:6}", "rule", "level");
        for store in &self.stores {
            let _ = write!(out, "{:>15}", store.name);
        }
        out.push('\n');
        for rule in crate::rules::rules() {
            let _ = write!(out, "{:width$}{:6}", rule.id, rule.level.as_str());
            for store in &self.stores {
                let cell = match store.rule(&rule.id).map(|r| r.status) {
                    Some(Status::Pass) => "pass",
                    Some(Status::Fail) => "FAIL",
                    Some(Status::Skip) => "skip",
                    Some(Status::Blocked) => "blocked",
                    None => "-",
                };
                let _ = write!(out, "{cell:>15}");
            }
            out.push('\n');
        }
        for store in &self.stores {
            let s = store.summary;
            let _ = write!(
                out,
                "\n{}: {} passed, {} failed, {} skipped",
                store.name, s.passed, s.failed, s.skipped
            );
            if s.blocked > 0 {
                let _ = write!(out, ", {} blocked", s.blocked);
            }
            if !store.profile.is_empty() {
                let choices: Vec<_> = store
                    .profile
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                let _ = write!(out, "; profile: {}", choices.join(", "));
            }
            if let Some(m) = &store.model {
                let _ = write!(
                    out,
                    "; model-based: {} cases, {} steps ({:.0}/s), {} store calls ({:.0}/s), seed {}",
                    m.cases, m.steps, m.steps_per_second, m.calls, m.calls_per_second, m.seed
                );
            }
            out.push('\n');
            let mut said: Vec<(&str, &str)> = Vec::new();
            for rule in store.rules.iter().filter(|r| r.status != Status::Pass) {
                let Some(message) = &rule.message else {
                    continue;
                };
                let tag = match rule.status {
                    Status::Fail => "FAIL",
                    Status::Blocked => "BLOCKED",
                    _ => "skip",
                };
                // Rules that share one reason (no server, say) are listed once, under the first.
                if rule.repro.is_none() && said.contains(&(tag, message.as_str())) {
                    continue;
                }
                let same = store
                    .rules
                    .iter()
                    .filter(|r| r.status == rule.status && r.message.as_ref() == Some(message))
                    .count();
                said.push((tag, message));
                if same > 1 && rule.repro.is_none() {
                    let _ = writeln!(
                        out,
                        "  {tag} {same} rules, {} and others: {message}",
                        rule.id
                    );
                    continue;
                }
                let _ = writeln!(out, "  {tag} {}: {message}", rule.id);
                if let Some(cause) = &rule.likely_cause {
                    let _ = writeln!(out, "    {cause}");
                }
                if let Some(repro) = &rule.repro {
                    let _ = writeln!(
                        out,
                        "    {}:",
                        if repro.replay_file.is_some() {
                            "minimal steps"
                        } else {
                            "the calls before it"
                        }
                    );
                    for step in &repro.steps {
                        let _ = writeln!(out, "      {step}");
                    }
                    if let Some(file) = &repro.replay_file {
                        let store = replay_args(&store.name);
                        let _ = writeln!(out, "    replay: tokenstore-check replay {file} {store}");
                    }
                }
            }
        }
        out
    }

    pub fn to_junit(&self) -> String {
        use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
        let mut report = quick_junit::Report::new("tokenstore-check");
        for store in &self.stores {
            let mut suite = TestSuite::new(store.name.clone());
            suite.add_property((
                "kit_version".to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
            ));
            suite.add_property((
                "spec_version".to_owned(),
                crate::rules::spec_version().to_string(),
            ));
            suite.add_property((
                "root_causes".to_owned(),
                store.root_causes.len().to_string(),
            ));
            if !store.root_causes.is_empty() || !store.resources.is_empty() {
                suite.set_system_out(root_causes_in_words(store));
            }
            for rule in &store.rules {
                let mut status = match rule.status {
                    Status::Pass => TestCaseStatus::success(),
                    Status::Fail => TestCaseStatus::non_success(NonSuccessKind::Failure),
                    Status::Skip => TestCaseStatus::skipped(),
                    Status::Blocked => TestCaseStatus::non_success(NonSuccessKind::Error),
                };
                if rule.status != Status::Pass {
                    if let Some(message) = &rule.message {
                        let message = match &rule.likely_cause {
                            Some(cause) => format!("{message} ({cause})"),
                            None => message.clone(),
                        };
                        status.set_message(message);
                    }
                }
                if let Some(repro) = &rule.repro {
                    status.set_description(repro.steps.join("\n"));
                }
                let mut case = TestCase::new(rule.id.clone(), status);
                case.set_classname(format!("tokenstore.{}", store.name));
                suite.add_test_case(case);
            }
            report.add_test_suite(suite);
        }
        report.to_string().expect("the report is plain data")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, status: Status, blocked_by: Option<&str>) -> RuleResult {
        RuleResult {
            id: id.into(),
            level: Level::Must,
            status,
            message: Some(format!("{id} message; from a second check")),
            repro: None,
            blocked_by: blocked_by.map(str::to_owned),
            likely_cause: None,
        }
    }

    #[test]
    fn failures_showing_one_likely_cause_are_one_root_cause_in_every_format() {
        let with_cause = |id: &str, cause: &str| RuleResult {
            likely_cause: Some(cause.into()),
            ..result(id, Status::Fail, None)
        };
        let rules = vec![
            with_cause(
                "find.by-user-name",
                "likely cause: a lookup by the wrong field",
            ),
            result("find.miss-none", Status::Blocked, Some("find.by-user-name")),
            with_cause(
                "find.by-access-token",
                "likely cause: a lookup by the wrong field",
            ),
            result("save.merge", Status::Blocked, Some("find.by-access-token")),
            with_cause("save.insert", "likely cause: something else"),
            result("save.refuse-tokenless", Status::Fail, None),
        ];
        let causes = RootCause::of(&rules);
        let listed: Vec<(&str, &[String])> = causes
            .iter()
            .map(|c| (c.rule.as_str(), c.same_cause.as_slice()))
            .collect();
        assert_eq!(
            listed,
            [
                (
                    "find.by-user-name",
                    &["find.by-access-token".to_owned()][..]
                ),
                ("save.insert", &[][..]),
                ("save.refuse-tokenless", &[][..]),
            ]
        );
        assert_eq!(causes[0].blocks, ["find.miss-none", "save.merge"]);
        let report = Report {
            stores: vec![StoreReport {
                name: "s".into(),
                profile: BTreeMap::new(),
                capabilities: crate::fixture::Capabilities::default(),
                root_causes: causes,
                resources: Vec::new(),
                rules,
                summary: Summary::default(),
                model: None,
            }],
        };
        let human = report.to_human();
        assert!(human.starts_with("s: 3 root causes\n"), "{human}");
        assert!(human.contains("the same likely cause fails find.by-access-token too"));
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(
            json["stores"][0]["root_causes"][0]["same_cause"],
            serde_json::json!(["find.by-access-token"])
        );
        assert!(report
            .to_markdown()
            .contains("fails `find.by-access-token` too"));
        assert!(report
            .to_html()
            .contains("fails <code>find.by-access-token</code> too"));
    }

    #[test]
    fn root_causes_lead_the_report_the_one_blocking_most_first_and_every_format_names_the_versions()
    {
        let rules = vec![
            result("find.miss-none", Status::Fail, None),
            result("save.insert", Status::Fail, None),
            result("save.merge", Status::Blocked, Some("save.insert")),
            result(
                "crash.acknowledged-kept",
                Status::Blocked,
                Some("save.insert"),
            ),
            result("find.by-user-name", Status::Pass, None),
        ];
        let causes = RootCause::of(&rules);
        let order: Vec<&str> = causes.iter().map(|c| c.rule.as_str()).collect();
        assert_eq!(order, ["save.insert", "find.miss-none"]);
        assert_eq!(causes[0].blocks, ["save.merge", "crash.acknowledged-kept"]);
        assert_eq!(causes[0].message, "save.insert message");
        let store = StoreReport {
            name: "s".into(),
            profile: BTreeMap::new(),
            capabilities: crate::fixture::Capabilities::default(),
            root_causes: causes,
            resources: Vec::new(),
            rules,
            summary: Summary::default(),
            model: None,
        };
        let report = Report {
            stores: vec![store],
        };
        let human = report.to_human();
        assert!(
            human.starts_with(
                "s: 2 root causes\n  1. save.insert: save.insert message (blocks 2 rules"
            ),
            "{human}"
        );
        assert!(report.to_junit().contains("root_causes"));
        assert!(report.to_markdown().contains("### s: 2 root causes"));
        assert!(report.to_json().contains("\"root_causes\""));
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["spec_version"], crate::rules::spec_version());
        assert_eq!(json["kit_version"], env!("CARGO_PKG_VERSION"));
        let versions = crate::rules::versions();
        assert!(report.to_markdown().contains(&format!("kit {versions}")));
        assert!(report.to_html().contains(&format!("kit {versions}")));
        let spec = format!(
            "<property name=\"spec_version\" value=\"{}\"/>",
            crate::rules::spec_version()
        );
        assert!(report.to_junit().contains(&spec), "{}", report.to_junit());
    }
}
