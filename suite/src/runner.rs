//! Runs the whole suite against one store: detects its profile, runs every example check that
//! its capabilities allow, runs the model-based test, and folds everything into one verdict per
//! rule ([`StoreReport`]).

use crate::checks::judged::{Deviations, Verdict};
use crate::checks::{self, Check, Ctx, Notes};
use crate::counting::CountingStorage;
use crate::fixture::{Capabilities, SetupError, StoreFixture};
use crate::machine::{self, Sequences, Step, Violation};
use crate::profile::{self, Profile};
use crate::replay::{ReplayFile, FORMAT};
use crate::report::{ModelStats, Repro, RuleResult, Status, StoreReport, Summary};
use crate::rules::{self, Capability};
use crate::seed::seeded_runner;
use crate::story::{Census, Story};
use proptest::test_runner::{Config, TestCaseError, TestError};
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
    /// The load of the tiers that run calls at once: how many tasks the concurrency checks
    /// call one store object from, and how many processes the processes tier's load check starts.
    pub load: crate::Load,
    /// The rules whose checks run ([`Selection::every`]: all of them); the others are reported
    /// as skipped, not selected, unless a check that ran found them broken.
    pub only: Selection,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            cases: 64,
            seed: 0,
            max_steps: 40,
            replay_dir: None,
            check_timeout: Duration::from_secs(120),
            load: crate::Load::default(),
            only: Selection::every(),
        }
    }
}

/// Which rules a run checks: every rule, or those named by id or by group (`crash` selects
/// `crash.acknowledged-kept`, `find` every `find.*` rule, `find-by-id` every `find-by-id.*`),
/// with the [`FOUNDATIONS`] the other checks read their storage with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Rule ids or groups; empty selects every rule.
    names: Vec<String>,
}

impl Selection {
    /// Every rule.
    pub fn every() -> Self {
        Selection::default()
    }

    /// The rules named, each a rule id or a group (the part of an id before its dot).
    ///
    /// # Errors
    /// A name that is neither, as one line listing the groups.
    pub fn of<S: AsRef<str>>(names: &[S]) -> Result<Self, String> {
        let names: Vec<String> = names.iter().map(|n| n.as_ref().to_owned()).collect();
        for name in &names {
            if !rules::rules().iter().any(|r| matches(name, &r.id)) {
                let mut groups: Vec<&str> = rules::rules()
                    .iter()
                    .filter_map(|r| r.id.split_once('.').map(|(g, _)| g))
                    .collect();
                groups.dedup();
                return Err(format!(
                    "{name:?} names no rule: give a rule id (`tokenstore-check rules` lists them) or a group ({})",
                    groups.join(", ")
                ));
            }
        }
        Ok(Selection { names })
    }

    /// Whether the run checks `rule`: a rule named, a foundation, or a rule a named rule relies
    /// on.
    pub fn selects(&self, rule: &str) -> bool {
        let named = |id: &str| self.names.iter().any(|n| matches(n, id));
        self.names.is_empty()
            || FOUNDATIONS.contains(&rule)
            || named(rule)
            || rules::rules()
                .iter()
                .any(|r| named(&r.id) && r.relies_on.iter().any(|f| f == rule))
    }
}

impl Selection {
    /// Whether the model-based sequences run: when a rule of calls made one at a time is
    /// named (the foundations alone, which every selection checks, do not call for them).
    fn runs_the_model(&self) -> bool {
        self.names.is_empty()
            || rules::rules()
                .iter()
                .any(|r| r.requires.is_none() && self.names.iter().any(|n| matches(n, &r.id)))
    }
}

/// The rules every selection checks: the listing and the emptying that the checks of the other
/// rules read and clear the storage with, so that a failure of either is told from a failure
/// of the rule selected (a crash check that meets a torn file, say).
pub const FOUNDATIONS: [&str; 2] = ["get-tokens.exact", "delete-tokens.empties"];

/// Whether the name `name` (a rule id or a group) covers the rule `id`.
fn matches(name: &str, id: &str) -> bool {
    id == name
        || id
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('.'))
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

/// A minimal failing sequence: the violation, the transcript of the run, and the steps.
pub type ModelFailure = (Violation, Vec<String>, Vec<Step>);

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
        Err(why) if why.reached_store => {
            let mut verdicts = Verdicts::default();
            verdicts.block_all(why.error);
            return assemble(
                fixture,
                &Profile::default(),
                capabilities,
                &options.only,
                verdicts,
                None,
            );
        }
        Err(why) => return unavailable(fixture, &why.error.message, fixture.required()),
    };
    let mut verdicts = Verdicts::default();
    for (rule, problem) in &profile.problems {
        let rule = rules::rule(rule)
            .map(|r| r.id.as_str())
            .unwrap_or("get-tokens.exact");
        verdicts.fail(static_id(rule), problem.clone(), None);
    }
    let mut folded = Folded::default();
    for check in checks::all() {
        if missing_capability(check.rule, capabilities).is_some()
            || !options.only.selects(check.rule)
        {
            continue;
        }
        // A foundation that failed in a check of its own (a block is weighed only once every
        // check has run).
        let foundation = rules::rule(check.rule)
            .and_then(|r| {
                r.relies_on
                    .iter()
                    .find(|f| folded.failed_in_own_checks.contains(f.as_str()))
            })
            .and_then(|f| rules::rule(f));
        if let Some(foundation) = foundation {
            let why = SetupError {
                message: format!(
                    "{}: {} fails, and this check stands on it",
                    check.name, foundation.id
                ),
                breaks: Some(static_id(&foundation.id)),
            };
            verdicts.blocked.entry(check.rule).or_insert(why);
            continue;
        }
        progress(check.name);
        let run = rt.block_on(run_check(fixture, &check, &profile, options));
        folded.add(&mut verdicts, &check, run);
    }
    // A check blocked by a rule the selection left out: that rule's checks run too, so that
    // the block is weighed against its own verdict.
    let unweighed: std::collections::HashSet<&'static str> = folded
        .blocked_runs
        .iter()
        .filter_map(|(_, why, _)| why.breaks)
        .filter(|rule| !folded.checked.contains(rule) && !options.only.selects(rule))
        .collect();
    for check in checks::all().into_iter().filter(|c| {
        unweighed.contains(c.rule) && missing_capability(c.rule, capabilities).is_none()
    }) {
        progress(check.name);
        let run = rt.block_on(run_check(fixture, &check, &profile, options));
        folded.add(&mut verdicts, &check, run);
    }
    let Folded {
        mut blocked_runs,
        checked,
        failed_in_own_checks,
        census,
    } = folded;
    // The sequential checks' blocks first: the failures they give their blocking rules count
    // when a tier's block is decided.
    blocked_runs.sort_by_key(|(rule, _, _)| is_tier(rule));
    for (rule, why, repro) in blocked_runs {
        verdicts.block_or_own(rule, why, repro, &checked, &failed_in_own_checks);
    }
    let mut stats = None;
    if verdicts.blocked.is_empty() && options.only.runs_the_model() {
        progress("model-based sequences");
        let (model_stats, failure) = run_model(fixture, &profile, options, &rt);
        stats = Some(model_stats);
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
            verdicts.fail(
                violation.rule,
                message,
                Some(Repro {
                    replay_file,
                    steps: transcript,
                }),
            );
        }
    }
    verdicts.block_what_stands_on_failures(&failed_in_own_checks);
    verdicts.explain_sequential_histories();
    verdicts.silent_reads = census.reads_answer_nothing();
    assemble(
        fixture,
        &profile,
        capabilities,
        &options.only,
        verdicts,
        stats,
    )
}

/// The example checks' runs as they are folded into the verdicts.
#[derive(Default)]
struct Folded {
    /// Checks blocked by a call of another rule, decided once every check has run.
    blocked_runs: Vec<(&'static str, SetupError, Option<Repro>)>,
    /// The rules whose checks ran to their verdict.
    checked: std::collections::HashSet<&'static str>,
    /// The rules that failed in a check of their own (its assertion, or the judge's view of
    /// its calls): the ones whose failure blocks what stands on them.
    failed_in_own_checks: std::collections::HashSet<&'static str>,
    /// The counts of every call of every check.
    census: Census,
}

impl Folded {
    /// Folds the run of `check` into `verdicts`.
    fn add(&mut self, verdicts: &mut Verdicts, check: &Check, run: CheckRun) {
        self.census.add(run.census);
        let story = (!run.story.is_empty()).then(|| Repro {
            replay_file: None,
            steps: run.story.clone(),
        });
        if let Some(blocked) = run.blocked {
            if blocked.breaks == Some(check.rule) {
                self.failed_in_own_checks.insert(check.rule);
            }
            self.blocked_runs.push((check.rule, blocked, story));
            return;
        }
        self.checked.insert(check.rule);
        // A tier's failure that stays with no fault injected is a sequential defect, said
        // under a sequential rule: it is not the tier's own.
        let own_failure = run
            .failure
            .as_ref()
            .is_some_and(|m| !m.contains(crate::history::SEQUENTIAL));
        if own_failure || run.notes.iter().any(|(rule, _)| *rule == check.rule) {
            self.failed_in_own_checks.insert(check.rule);
        }
        if let Some(message) = run.failure {
            verdicts.fail(
                check.rule,
                format!("{}: {message}", check.name),
                story.clone(),
            );
        }
        for (rule, message) in run.notes {
            verdicts.fail(
                rule,
                format!("{} (checking {}): {message}", check.name, check.rule),
                story.clone(),
            );
        }
    }
}

/// Whether `rule` belongs to a tier (it needs a capability), not to the sequential rules.
fn is_tier(rule: &str) -> bool {
    rules::rule(rule).is_some_and(|r| r.requires.is_some())
}

/// The rules of concurrent histories: a violation there may be a sequential defect seen from
/// several clients.
const HISTORY_RULES: [&str; 2] = ["concurrency.linearizable", "processes.linearizable"];

/// The most messages a failed rule keeps (the checks that saw it, first first).
const MESSAGES_PER_RULE: usize = 4;

/// `message` cut past three times [`crate::show::MESSAGE_CHARS`] characters, its length shown.
fn bounded(message: &str) -> String {
    let most = 3 * crate::show::MESSAGE_CHARS;
    if message.chars().count() <= most {
        return message.to_owned();
    }
    let head: String = message.chars().take(most).collect();
    format!("{head}…({} bytes in all)", message.len())
}

/// The findings of a run so far: failures by rule, and the rules a setup failure kept from
/// running.
#[derive(Default)]
struct Verdicts {
    failures: BTreeMap<&'static str, Vec<(String, Option<Repro>)>>,
    /// Rule → the setup failure that kept its checks from running.
    blocked: BTreeMap<&'static str, SetupError>,
    /// Every rule is blocked by this (the store could not be opened at all).
    all_blocked: Option<SetupError>,
    /// History rule → the sequential rule whose failure explains its violation.
    explained: BTreeMap<&'static str, &'static str>,
    /// Set when no read of the run answered a token though many saves answered Ok
    /// ([`Census::reads_answer_nothing`]): the likely cause of every failure that shows a read
    /// answering nothing.
    silent_reads: Option<String>,
}

impl Verdicts {
    /// Records a failure of `rule`; the same message twice is kept once.
    /// At most [`MESSAGES_PER_RULE`] messages are kept, each bounded to a few lines, so a
    /// report stays a few pages whatever the store answers.
    fn fail(&mut self, rule: &'static str, message: String, repro: Option<Repro>) {
        let rule = static_id(rule);
        let message = bounded(&message);
        let found = self.failures.entry(rule).or_default();
        if !found.iter().any(|(m, _)| *m == message) && found.len() < MESSAGES_PER_RULE {
            found.push((message, repro));
        }
    }

    /// Records that `rule`'s check could not run because of `why`; the rule the setup broke
    /// (if any) fails once with it.
    fn block(&mut self, rule: &'static str, why: SetupError) {
        if let Some(broken) = why.breaks {
            self.fail(broken, why.message.clone(), None);
            if broken == rule {
                return;
            }
        }
        self.blocked.entry(static_id(rule)).or_insert(why);
    }

    /// A check of `rule` that a call of another rule kept from going on: blocked by that rule.
    /// But when every check of that rule ran (`checked`) and none failed (`failed`: the rules
    /// that failed in a check of their own), the call failed only in this check's situation
    /// (an insert whose fresh id collides, a listing after a crash met a half-written file, an
    /// emptying while other processes hold the storage): the failure is this check's own.
    fn block_or_own(
        &mut self,
        rule: &'static str,
        why: SetupError,
        repro: Option<Repro>,
        checked: &std::collections::HashSet<&'static str>,
        failed: &std::collections::HashSet<&'static str>,
    ) {
        // A save written over another token is witnessed in the listing: that save's fault
        // wherever it was made.
        let witnessed = why.message.contains(crate::judge::WROTE_OVER);
        let holds_elsewhere = !witnessed
            && why.breaks.is_some_and(|broken| {
                broken != rule
                    && !(is_tier(broken) && !is_tier(rule))
                    && checked.contains(broken)
                    && !failed.contains(broken)
            });
        if holds_elsewhere {
            let broken = why.breaks.expect("checked above");
            let message = format!(
                "{}; {broken} holds in every check of its own, so this is a failure of {rule}",
                why.message
            );
            self.fail(rule, message, repro);
        } else {
            self.block(rule, why);
        }
    }

    /// A failed rule that relies on a rule which failed in a check of its own too (`relies_on`
    /// in rules.toml, `failed`), where that failure was known only after the rule's checks had
    /// run (the profile's, or a check that ran later): blocked by it, as when the failure is
    /// known before. In the rules' order, so a rule blocked here blocks nothing.
    fn block_what_stands_on_failures(&mut self, failed: &std::collections::HashSet<&'static str>) {
        for rule in rules::rules() {
            let id = static_id(&rule.id);
            if !self.failures.contains_key(id) {
                continue;
            }
            let Some(foundation) = rule
                .relies_on
                .iter()
                .find(|f| self.failures.contains_key(f.as_str()) && failed.contains(f.as_str()))
            else {
                continue;
            };
            let foundation = static_id(foundation);
            self.failures.remove(id);
            self.blocked.entry(id).or_insert(SetupError {
                message: format!("{foundation} fails, and the checks of {id} stand on it"),
                breaks: Some(foundation),
            });
        }
        // A block by a rule that is now blocked itself is a block by what blocks that rule.
        let by: BTreeMap<&'static str, &'static str> = self
            .blocked
            .iter()
            .filter_map(|(rule, why)| why.breaks.map(|b| (*rule, b)))
            .collect();
        for why in self.blocked.values_mut() {
            let mut hops = 0;
            while let Some(next) = why
                .breaks
                .filter(|b| !self.failures.contains_key(b))
                .and_then(|b| by.get(b).copied())
            {
                why.breaks = Some(next);
                hops += 1;
                if hops > by.len() {
                    break;
                }
            }
        }
    }

    /// A history violation whose calls break the rules made one at a time too, in a store that
    /// already fails a sequential rule, is that rule's failure: it is said there, and the
    /// history rule is not counted as failed.
    fn explain_sequential_histories(&mut self) {
        let sequential: Vec<&'static str> = rules::rules()
            .iter()
            .filter(|r| r.requires.is_none() && self.failures.contains_key(r.id.as_str()))
            .map(|r| r.id.as_str())
            .collect();
        let Some(first) = sequential.first().copied() else {
            return;
        };
        for rule in HISTORY_RULES.into_iter().chain(FAULT_RULES) {
            let Some(found) = self.failures.get(rule) else {
                continue;
            };
            if !found
                .iter()
                .all(|(m, _)| m.contains(crate::history::SEQUENTIAL))
            {
                continue;
            }
            self.failures.remove(rule);
            self.explained.insert(rule, first);
            let said = format!(
                "{rule} found a violation that stays with its calls made one at a time and no fault injected: this failure again, counted here and not there"
            );
            self.fail(first, said, None);
        }
    }

    fn block_all(&mut self, why: SetupError) {
        if let Some(broken) = why.breaks {
            self.fail(broken, why.message.clone(), None);
        }
        self.all_blocked = Some(why);
    }
}

/// What one example check found.
#[derive(Debug, Default)]
pub struct CheckRun {
    /// The check's own verdict: the message of its failure, if it failed.
    pub failure: Option<String>,
    /// Failures of other rules seen on the way (another call answered wrong): rule → message.
    pub notes: Vec<(&'static str, String)>,
    /// The calls made on the store since it was opened (the last ten), with their answers.
    pub story: Vec<String>,
    /// Set when the check could not run: fresh storage or a store on it could not be had.
    pub blocked: Option<SetupError>,
    /// The counts of every call the check made.
    pub census: Census,
}

/// Rules whose checks inject a fault (killed connections, overlapping calls). When one fails,
/// the check runs again with the fault off; a failure that stays is a sequential defect.
const FAULT_RULES: [&str; 4] = [
    "server-loss.recovers",
    "concurrency.distinct-users",
    "concurrency.same-user",
    "concurrency.reader-consistent",
];

/// Whether the calls of `rule`'s checks are judged one by one ([`Deviations`]): those of the
/// rules of calls made one at a time, and durability's, but not the declared limits' (the model
/// knows no limits).
fn judges(rule: &str) -> bool {
    rules::rule(rule).is_some_and(|r| {
        matches!(r.requires, None | Some(Capability::Persistent)) && r.id != "limits.declared"
    })
}

/// Runs one example check on fresh storage, for at most the options' check timeout; checks
/// that draw random workloads draw them from the options' seed. A check of a fault-injecting
/// tier that fails is run again without the fault: when it fails then too, its message ends
/// with [`crate::history::SEQUENTIAL`].
pub async fn run_check(
    fixture: &dyn StoreFixture,
    check: &Check,
    profile: &Profile,
    options: &RunOptions,
) -> CheckRun {
    let mut run = run_check_with(fixture, check, profile, options, true).await;
    if run.failure.is_some() && FAULT_RULES.contains(&check.rule) {
        let control = run_check_with(fixture, check, profile, options, false).await;
        if control.failure.is_some() || !control.notes.is_empty() {
            if let Some(failure) = &mut run.failure {
                failure.push_str(crate::history::SEQUENTIAL);
            }
        }
    }
    run
}

async fn run_check_with(
    fixture: &dyn StoreFixture,
    check: &Check,
    profile: &Profile,
    options: &RunOptions,
    faults: bool,
) -> CheckRun {
    let timeout = options.check_timeout;
    let storage: Arc<dyn crate::Storage> = match fixture.storage().await {
        Ok(storage) => Arc::from(storage),
        Err(e) => {
            return CheckRun {
                blocked: Some(e),
                ..CheckRun::default()
            }
        }
    };
    let store = match storage.open(crate::MAIN_NAMESPACE).await {
        Ok(store) => store,
        Err(e) => {
            let _ = storage.remove().await;
            return CheckRun {
                blocked: Some(format!("opening a fresh store = Err({e}), want Ok").into()),
                ..CheckRun::default()
            };
        }
    };
    let story = Story::default();
    let notes = Notes::default();
    let deviations = if judges(check.rule) {
        Deviations::new(profile.choices)
    } else {
        Deviations::off()
    };
    let limits = fixture.limits();
    let ctx = Ctx {
        store: checks::observed(store, &story, &notes, &deviations, limits),
        storage: storage.clone(),
        choices: profile.choices,
        capabilities: fixture.capabilities(),
        limits,
        seed: options.seed,
        load: options.load,
        story: story.clone(),
        notes: notes.clone(),
        faults,
        deviations: deviations.clone(),
    };
    let result = match tokio::time::timeout(timeout, (check.run)(ctx)).await {
        Ok(result) => result,
        Err(_) => Err(format!("did not finish within {} s", timeout.as_secs())),
    };
    let removed = storage
        .remove()
        .await
        .map_err(|e| format!("removing the check's storage = Err({e})"));
    let mut result = result.and(removed);
    for (rule, message) in storage.take_findings() {
        if rule == check.rule && result.is_ok() {
            result = Err(message);
        } else if rule != check.rule {
            notes.add(rule, message);
        }
    }
    let (mut notes, mut blocked_by) = notes.take();
    // A check that fails its own rule says so in its own words; what the judge saw the store
    // do on the way (its `why`) is added to them.
    let why = deviations
        .found()
        .into_iter()
        .find(|b| b.rule == check.rule)
        .and_then(|b| b.why);
    let failure = result.err().map(|mut failure| {
        add_why(&mut failure, why.as_deref());
        failure
    });
    // The judge saw every call: a block the check decided itself stands when the judge saw its
    // rule broken too, or saw nothing before it; an earlier wrong answer of another rule is the
    // root cause, and blocks the check instead.
    let judged = deviations.verdict(check.rule, failure.is_some());
    let judged = match judged {
        Verdict::Blocked { by, others }
            if !blocked_by
                .as_ref()
                .is_some_and(|(rule, _)| deviations.found().iter().any(|b| b.rule == *rule)) =>
        {
            blocked_by = Some((by.rule, by.message));
            others
        }
        Verdict::Blocked { by, mut others } => {
            others.insert(0, by);
            others
        }
        Verdict::Own { others } => others,
    };
    for broken in judged {
        let blocking = blocked_by
            .as_ref()
            .is_some_and(|(rule, _)| *rule == broken.rule);
        match notes.iter_mut().find(|(rule, _)| *rule == broken.rule) {
            // The check noted the rule in its own words: the judge's `why` is added to them.
            Some((_, message)) => add_why(message, broken.why.as_deref()),
            None if !blocking => notes.push((broken.rule, broken.message)),
            None => {}
        }
    }
    match blocked_by {
        Some((rule, message)) if failure.is_some() => CheckRun {
            failure: None,
            notes,
            story: story.lines(),
            blocked: Some(SetupError {
                message: format!("{}: {message}", check.name),
                breaks: Some(rule),
            }),
            census: story.census(),
        },
        _ => CheckRun {
            failure,
            notes,
            story: story.lines(),
            blocked: None,
            census: story.census(),
        },
    }
}

/// `message` with the judge's `why` after it, unless it says that already.
fn add_why(message: &mut String, why: Option<&str>) {
    if let Some(why) = why.filter(|why| !message.contains(why)) {
        message.push_str(why);
    }
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
            .map_err(|e| TestCaseError::fail(e.message))?;
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
            let steps = rt.block_on(drop_needless_steps(fixture, steps, choices));
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

/// `steps` without every step whose removal keeps the same rule failing, one at a time from
/// the front: proptest's shrinking removes steps from the end and in runs, and may leave a
/// refused call before the step at fault. Each try runs on fresh storage.
async fn drop_needless_steps(
    fixture: &dyn StoreFixture,
    mut steps: Vec<Step>,
    choices: tokenstore_core::Choices,
) -> Vec<Step> {
    let outcome = |steps: Vec<Step>| async move {
        let storage = fixture.storage().await.ok()?;
        let (_, outcome) = machine::execute(&*storage, &steps, choices, None).await;
        let _ = storage.remove().await;
        outcome.err().map(|v| v.rule)
    };
    let Some(rule) = outcome(steps.clone()).await else {
        return steps;
    };
    let mut i = 0;
    while i < steps.len() && steps.len() > 1 {
        let mut fewer = steps.clone();
        fewer.remove(i);
        if outcome(fewer.clone()).await == Some(rule) {
            steps = fewer;
        } else {
            i += 1;
        }
    }
    steps
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
    only: &Selection,
    mut verdicts: Verdicts,
    model: Option<ModelStats>,
) -> StoreReport {
    let mut results = Vec::new();
    let mut summary = Summary::default();
    for rule in rules::rules() {
        let blocked = verdicts
            .blocked
            .remove(rule.id.as_str())
            .or_else(|| verdicts.all_blocked.clone());
        // A failure is reported whatever else holds: a rule whose capability is missing but
        // which failed (through another rule's check) is a failure, never a skip.
        let result = if let Some(found) = verdicts.failures.remove(rule.id.as_str()) {
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
                likely_cause: verdicts
                    .silent_reads
                    .clone()
                    .filter(|_| crate::causes::shows_a_read_answering_nothing(&message))
                    .or_else(|| crate::causes::likely_cause(&rule.id, &message).map(str::to_owned)),
                message: Some(message),

                // The model-based failure's minimal steps and replay file, else the first
                // check's story.
                repro: found
                    .iter()
                    .find_map(|(_, r)| r.clone().filter(|r| r.replay_file.is_some()))
                    .or_else(|| found.into_iter().find_map(|(_, r)| r)),
                blocked_by: None,
            }
        } else if let Some(capability) = missing_capability(&rule.id, capabilities) {
            summary.skipped += 1;
            let name = format!("{capability:?}").to_lowercase();
            RuleResult {
                id: rule.id.clone(),
                level: rule.level,
                status: Status::Skip,
                message: Some(format!("the store does not declare the {name} capability")),
                repro: None,
                blocked_by: None,
                likely_cause: None,
            }
        } else if !only.selects(&rule.id) {
            summary.skipped += 1;
            RuleResult {
                id: rule.id.clone(),
                level: rule.level,
                status: Status::Skip,
                message: Some("not selected (--only)".into()),
                repro: None,
                blocked_by: None,
                likely_cause: None,
            }
        } else if let Some(why) = blocked {
            summary.blocked += 1;
            let by = why.breaks.unwrap_or("setup");
            RuleResult {
                id: rule.id.clone(),
                level: rule.level,
                status: Status::Blocked,
                message: Some(format!("not checked: {why}")),
                repro: None,
                blocked_by: Some(by.to_owned()),
                likely_cause: None,
            }
        } else {
            summary.passed += 1;
            let explained = verdicts.explained.get(rule.id.as_str()).map(|by| {
                format!("no fault of this tier found: its failure stays with no fault injected, so it is the sequential failure of {by}")
            });
            RuleResult {
                id: rule.id.clone(),
                level: rule.level,
                status: Status::Pass,
                message: explained.or_else(|| {
                    profile
                        .detected
                        .get(&rule.id)
                        .map(|c| format!("choice: {c}"))
                }),
                repro: None,
                blocked_by: None,
                likely_cause: None,
            }
        };
        results.push(result);
    }
    assert!(
        verdicts.failures.is_empty(),
        "findings for rules the rule table does not have: {:?}",
        verdicts.failures.keys().collect::<Vec<_>>()
    );
    StoreReport {
        name: fixture.name().into(),
        profile: profile.detected.clone(),
        capabilities,
        root_causes: crate::report::RootCause::of(&results),
        resources: fixture.resources(),
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
            blocked_by: None,
            likely_cause: None,
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
        root_causes: Vec::new(),
        resources: Vec::new(),
        rules,
        model: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dir::DirFixture;

    fn fixture() -> DirFixture {
        DirFixture::new("list", Capabilities::default(), |_, _| {
            Ok(Arc::new(tokenstore_list::list_store()))
        })
    }

    #[test]
    fn a_finding_is_reported_even_for_a_rule_whose_capability_is_missing() {
        let mut verdicts = Verdicts::default();
        verdicts.fail("concurrency.linearizable", "a wrong answer".into(), None);
        let report = assemble(
            &fixture(),
            &Profile::default(),
            Capabilities::default(),
            &Selection::every(),
            verdicts,
            None,
        );
        let verdict = report.rule("concurrency.linearizable").unwrap();
        assert_eq!(verdict.status, Status::Fail);
        assert_eq!(report.summary.failed, 1);
        assert!(report.must_failed());
    }

    #[test]
    fn a_setup_failure_fails_its_rule_once_and_blocks_the_others() {
        let mut verdicts = Verdicts::default();
        let why = SetupError {
            message: "delete_tokens() = Err(boom), want Ok".into(),
            breaks: Some("delete-tokens.empties"),
        };
        verdicts.block("save.insert", why.clone());
        verdicts.block("find.miss-none", why);
        let report = assemble(
            &fixture(),
            &Profile::default(),
            Capabilities::default(),
            &Selection::every(),
            verdicts,
            None,
        );
        let status = |id: &str| report.rule(id).unwrap().status;
        assert_eq!(status("delete-tokens.empties"), Status::Fail);
        assert_eq!(status("save.insert"), Status::Blocked);
        assert_eq!(
            report.rule("save.insert").unwrap().blocked_by.as_deref(),
            Some("delete-tokens.empties")
        );
        assert_eq!(report.summary.failed, 1);
        assert_eq!(report.summary.blocked, 2);
        assert!(report.must_failed());
    }

    #[test]
    fn a_selection_runs_its_rules_and_skips_the_others_unless_they_fail() {
        let only = Selection::of(&["crash", "find.miss-none"]).unwrap();
        assert!(only.selects("crash.acknowledged-kept") && only.selects("find.miss-none"));
        assert!(!only.selects("find.exact-match") && !only.selects("processes.linearizable"));
        assert!(FOUNDATIONS.iter().all(|rule| only.selects(rule)));
        assert!(
            only.runs_the_model(),
            "find.miss-none is a rule of calls one at a time"
        );
        assert!(!Selection::of(&["crash"]).unwrap().runs_the_model());
        let mut verdicts = Verdicts::default();
        verdicts.fail("save.insert", "a wrong answer".into(), None);
        let report = assemble(
            &fixture(),
            &Profile::default(),
            Capabilities::default(),
            &only,
            verdicts,
            None,
        );
        let status = |id: &str| report.rule(id).unwrap().status;
        assert_eq!(status("find.miss-none"), Status::Pass);
        assert_eq!(status("find.exact-match"), Status::Skip);
        assert_eq!(
            status("save.insert"),
            Status::Fail,
            "a finding is never hidden"
        );
        let error = Selection::of(&[concat!("find", ".miss")]).unwrap_err();
        assert!(
            error.contains("names no rule") && error.lines().count() == 1,
            "{error}"
        );
    }

    #[test]
    #[should_panic(expected = "findings for rules the rule table does not have")]
    fn a_finding_for_an_unknown_rule_is_never_dropped_silently() {
        let mut verdicts = Verdicts::default();
        verdicts.failures.insert(
            concat!("save", ".no-such-rule"),
            vec![("lost".into(), None)],
        );
        assemble(
            &fixture(),
            &Profile::default(),
            Capabilities::default(),
            &Selection::every(),
            verdicts,
            None,
        );
    }
}
