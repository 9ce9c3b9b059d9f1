//! Runs the whole suite against one store: detects its profile, runs every example check that
//! its capabilities allow, runs the model-based test, and folds everything into one verdict per
//! rule ([`StoreReport`]).

use crate::checks::{self, Check, Ctx};
use crate::counting::CountingStorage;
use crate::fixture::{Capabilities, StoreFixture};
use crate::machine::{self, Sequences, Step, Violation};
use crate::profile::{self, Profile};
use crate::replay::{ReplayFile, FORMAT};
use crate::report::{ModelStats, Repro, RuleResult, Status, StoreReport, Summary};
use crate::rules::{self, Capability};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use proptest_state_machine::ReferenceStateMachine;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a run goes.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Sequences the model-based test tries (before shrinking).
    pub cases: u32,
    /// The seed of the model-based test; the same seed generates the same sequences.
    pub seed: u64,
    /// The longest sequence generated.
    pub max_steps: usize,
    /// Where failing sequences are saved; `None` saves none.
    pub replay_dir: Option<PathBuf>,
    /// How long one example check may take before it fails.
    pub check_timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            cases: 64,
            seed: 0,
            max_steps: 40,
            replay_dir: None,
            check_timeout: Duration::from_secs(120),
        }
    }
}

/// What the run reports as it goes: the name of each check or phase as it starts.
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

/// The runtime every run uses: several workers, so the concurrency checks are concurrent.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}

/// proptest's random source for `seed`: the same seed draws the same values.
pub fn seeded_rng(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// A proptest runner with `config` whose cases are drawn from `seed`.
pub fn seeded_runner(config: Config, seed: u64) -> TestRunner {
    TestRunner::new_with_rng(config, seeded_rng(seed))
}

/// A minimal failing sequence: the violation, the transcript of the run, and the steps.
pub type ModelFailure = (Violation, Vec<String>, Vec<Step>);

/// The failures found for one rule.
type Findings = BTreeMap<&'static str, Vec<(String, Option<Repro>)>>;

/// Checks `fixture` against every rule and returns the verdicts.
pub fn check_store(
    fixture: &dyn StoreFixture,
    options: &RunOptions,
    progress: Progress<'_>,
) -> StoreReport {
    let rt = runtime();
    let capabilities = fixture.capabilities();
    progress("profile");
    let profile = match rt.block_on(profile::detect(fixture)) {
        Ok(profile) => profile,
        Err(why) => return unavailable(fixture, &why, fixture.required()),
    };
    let mut findings: Findings = BTreeMap::new();
    for (rule, problem) in &profile.problems {
        let rule = rules::rule(rule)
            .map(|r| r.id.as_str())
            .unwrap_or("get-tokens.exact");
        findings
            .entry(static_id(rule))
            .or_default()
            .push((problem.clone(), None));
    }
    for check in checks::all() {
        if missing_capability(check.rule, capabilities).is_some() {
            continue;
        }
        progress(check.name);
        if let Err(message) = rt.block_on(run_check(fixture, &check, &profile, options)) {
            findings
                .entry(check.rule)
                .or_default()
                .push((format!("{}: {message}", check.name), None));
        }
    }
    progress("model-based sequences");
    let (stats, failure) = run_model(fixture, &profile, options, &rt);
    if let Some((violation, transcript, steps)) = failure {
        let replay_file = options.replay_dir.as_ref().and_then(|dir| {
            let file = ReplayFile {
                format: FORMAT.into(),
                backend: fixture.name().into(),
                rule: violation.rule.into(),
                message: violation.message.clone(),
                seed: options.seed,
                steps,
            };
            file.write(dir).ok().map(|p| p.display().to_string())
        });
        let message = format!(
            "model-based sequence, {} steps: {}",
            violation.step + 1,
            violation.message
        );
        findings.entry(violation.rule).or_default().push((
            message,
            Some(Repro {
                replay_file,
                steps: transcript,
            }),
        ));
    }
    assemble(fixture, &profile, capabilities, findings, Some(stats))
}

/// Runs one example check on fresh storage, for at most the options' check timeout; checks
/// that draw random workloads draw them from the options' seed.
pub async fn run_check(
    fixture: &dyn StoreFixture,
    check: &Check,
    profile: &Profile,
    options: &RunOptions,
) -> Result<(), String> {
    let timeout = options.check_timeout;
    let storage: Arc<dyn crate::Storage> = Arc::from(fixture.storage().await?);
    let store = storage
        .open(crate::MAIN_NAMESPACE)
        .await
        .map_err(|e| format!("opening a fresh store = Err({e})"))?;
    let ctx = Ctx {
        store,
        storage: storage.clone(),
        choices: profile.choices,
        capabilities: fixture.capabilities(),
        limits: fixture.limits(),
        seed: options.seed,
    };
    let result = match tokio::time::timeout(timeout, (check.run)(ctx)).await {
        Ok(result) => result,
        Err(_) => Err(format!("did not finish within {} s", timeout.as_secs())),
    };
    let removed = storage
        .remove()
        .await
        .map_err(|e| format!("removing the check's storage = Err({e})"));
    result.and(removed)
}

/// The model-based test: statistics, and the minimal failing sequence if there is one (its
/// violation, transcript and steps).
pub fn run_model(
    fixture: &dyn StoreFixture,
    profile: &Profile,
    options: &RunOptions,
    rt: &tokio::runtime::Runtime,
) -> (ModelStats, Option<ModelFailure>) {
    let steps_run = AtomicU64::new(0);
    let calls = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let config = Config {
        cases: options.cases,
        failure_persistence: None,
        max_shrink_iters: 4096,
        max_shrink_time: 120_000,
        ..Config::default()
    };
    let mut runner = seeded_runner(config, options.seed);
    let choices = profile.choices;
    let test = |(_, steps, seen): ((), Vec<Step>, Option<Arc<std::sync::atomic::AtomicUsize>>)| {
        let storage = rt
            .block_on(fixture.storage())
            .map_err(TestCaseError::fail)?;
        let counted = CountingStorage {
            inner: &*storage,
            calls: calls.clone(),
        };
        let (_, outcome) =
            rt.block_on(machine::execute(&counted, &steps, choices, seen.as_deref()));
        rt.block_on(storage.remove())
            .map_err(|e| TestCaseError::fail(format!("removing the storage: {e}")))?;
        let ran = outcome.as_ref().err().map_or(steps.len(), |v| v.step + 1);
        steps_run.fetch_add(ran as u64, Ordering::Relaxed);
        outcome.map_err(|v| TestCaseError::fail(format!("{}: {}", v.rule, v.message)))
    };
    let range = 1..=options.max_steps.max(1);
    let result = if fixture.capabilities().persistent {
        runner.run(&Sequences::<true>::sequential_strategy(range), test)
    } else {
        runner.run(&Sequences::<false>::sequential_strategy(range), test)
    };
    let seconds = started.elapsed().as_secs_f64();
    let steps = steps_run.load(Ordering::Relaxed);
    let calls = calls.load(Ordering::Relaxed);
    let stats = ModelStats {
        seed: options.seed,
        cases: options.cases,
        steps,
        seconds,
        steps_per_second: steps as f64 / seconds.max(1e-9),
        calls,
        calls_per_second: calls as f64 / seconds.max(1e-9),
    };
    let failure = match result {
        Ok(()) => None,
        Err(TestError::Fail(reason, ((), steps, _))) => {
            let rerun = rt.block_on(async {
                let storage = fixture.storage().await?;
                let outcome = machine::execute(&*storage, &steps, choices, None).await;
                let _ = storage.remove().await;
                Ok::<_, String>(outcome)
            });
            Some(match rerun {
                Ok((transcript, Err(violation))) => (violation, transcript, steps),
                _ => {
                    let violation = Violation {
                        rule: "get-tokens.exact",
                        message: format!("failed once but not when run again (a race?): {reason}"),
                        step: steps.len().saturating_sub(1),
                    };
                    (
                        violation,
                        steps.iter().map(|s| format!("{s:?}")).collect(),
                        steps,
                    )
                }
            })
        }
        Err(TestError::Abort(reason)) => Some((
            Violation {
                rule: "get-tokens.exact",
                message: format!("the model-based test stopped: {reason}"),
                step: 0,
            },
            Vec::new(),
            Vec::new(),
        )),
    };
    (stats, failure)
}

/// The capability a rule needs and the store lacks, if any.
fn missing_capability(rule: &str, capabilities: Capabilities) -> Option<Capability> {
    let needed = rules::rule(rule)?.requires?;
    (!capabilities.has(needed)).then_some(needed)
}

fn static_id(id: &str) -> &'static str {
    rules::rule(id)
        .map(|r| r.id.as_str())
        .expect("rule ids come from the rule table")
}

fn assemble(
    fixture: &dyn StoreFixture,
    profile: &Profile,
    capabilities: Capabilities,
    mut findings: Findings,
    model: Option<ModelStats>,
) -> StoreReport {
    let mut results = Vec::new();
    let mut summary = Summary::default();
    for rule in rules::rules() {
        let result = if let Some(capability) = missing_capability(&rule.id, capabilities) {
            summary.skipped += 1;
            let name = format!("{capability:?}").to_lowercase();
            RuleResult {
                id: rule.id.clone(),
                level: rule.level,
                status: Status::Skip,
                message: Some(format!("the store does not declare the {name} capability")),
                repro: None,
            }
        } else if let Some(found) = findings.remove(rule.id.as_str()) {
            summary.failed += 1;
            let message = found
                .iter()
                .map(|(m, _)| m.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            RuleResult {
                id: rule.id.clone(),
                level: rule.level,
                status: Status::Fail,
                message: Some(message),
                repro: found.into_iter().find_map(|(_, r)| r),
            }
        } else {
            summary.passed += 1;
            RuleResult {
                id: rule.id.clone(),
                level: rule.level,
                status: Status::Pass,
                message: profile
                    .detected
                    .get(&rule.id)
                    .map(|c| format!("choice: {c}")),
                repro: None,
            }
        };
        results.push(result);
    }
    StoreReport {
        name: fixture.name().into(),
        profile: profile.detected.clone(),
        capabilities,
        rules: results,
        summary,
        model,
    }
}

/// Every rule skipped, for a store whose storage cannot be had (no server, no directory); or
/// every rule failed, when the run requires that store (`TOKENSTORE_REQUIRE`).
fn unavailable(fixture: &dyn StoreFixture, why: &str, required: bool) -> StoreReport {
    let (status, message) = if required {
        let name = fixture.name();
        (
            Status::Fail,
            format!("{why} (TOKENSTORE_REQUIRE names {name}, so this fails the run)"),
        )
    } else {
        (Status::Skip, why.to_owned())
    };
    let rules: Vec<_> = rules::rules()
        .iter()
        .map(|rule| RuleResult {
            id: rule.id.clone(),
            level: rule.level,
            status,
            message: Some(message.clone()),
            repro: None,
        })
        .collect();
    let count = rules.len();
    let summary = if required {
        Summary {
            failed: count,
            ..Summary::default()
        }
    } else {
        Summary {
            skipped: count,
            ..Summary::default()
        }
    };
    StoreReport {
        name: fixture.name().into(),
        profile: BTreeMap::new(),
        capabilities: fixture.capabilities(),
        summary,
        rules,
        model: None,
    }
}
