//! The suite as Rust tests for a third-party store. [`crate::suite_main!`] makes a test target's
//! `main` (a `harness = false` target) that runs one test per rule and the model-based test, with
//! libtest's arguments and output, through `libtest-mimic`: a rule whose capability the store
//! does not declare is an ignored test, which `cargo test` and `cargo nextest` count as skipped.
//! [`crate::suite!`] generates the same tests as `#[test]` functions in an ordinary test target,
//! where such a rule can only pass with a note on stderr.

use crate::fixture::StoreFixture;
use crate::runner::{self, RunOptions};
use crate::{checks, profile, rules};
use std::process::ExitCode;
use std::sync::Arc;

/// The name of the model-based test beside the rule tests.
pub const MODEL_TEST: &str = "model_based_sequences";

/// Runs the suite as a test harness: parses libtest's arguments (`--list`, `--ignored`, a name
/// filter, `--exact`, `--test-threads`...), makes the fixture once with `make`, and runs one
/// trial per rule of `specs/rules.toml`, named by the rule id (`save.merge`), plus
/// [`MODEL_TEST`]. `make` runs when tests are listed too, so it must not connect to anything:
/// connections belong in [`StoreFixture::storage`]. Exit status: 0 when no test failed, 101
/// otherwise.
pub fn run_tests<F: StoreFixture + 'static>(make: impl FnOnce() -> F) -> ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    libtest_mimic::run(&args, trials(Arc::new(make()))).exit_code()
}

/// One trial per rule, ignored when the store's capabilities exclude the rule, then the
/// model-based test.
fn trials(fixture: Arc<dyn StoreFixture>) -> Vec<libtest_mimic::Trial> {
    let capabilities = fixture.capabilities();
    let mut trials: Vec<libtest_mimic::Trial> = rules::rules()
        .iter()
        .map(|rule| {
            let fixture = fixture.clone();
            let id = rule.id.clone();
            let excluded = rule.requires.is_some_and(|c| !capabilities.has(c));
            libtest_mimic::Trial::test(rule.id.clone(), move || {
                rule_failures(&*fixture, &id).map_err(Into::into)
            })
            .with_ignored_flag(excluded)
        })
        .collect();
    trials.push(libtest_mimic::Trial::test(MODEL_TEST, move || {
        model_failure(&*fixture).map_err(Into::into)
    }));
    trials
}

/// Runs every check of `rule` against `fixture`; panics with every failure. A rule the store's
/// capabilities exclude passes with a note on stderr.
pub fn rule_test(fixture: &dyn StoreFixture, rule: &str) {
    if let Err(failures) = rule_failures(fixture, rule) {
        panic!("{failures}");
    }
}

/// Runs every check of `rule` against `fixture`: `Err` holds every failure of `rule`, one per
/// line, after the rule's id and title, and every check another rule's failure kept from
/// running. A failure of another rule seen on the way is only written to stderr: that rule's own
/// test reports it (as the CLI counts it under that rule). A rule the store's capabilities
/// exclude is `Ok`, with a note on stderr.
pub fn rule_failures(fixture: &dyn StoreFixture, rule: &str) -> Result<(), String> {
    let Some(known) = rules::rule(rule) else {
        return Err(format!("{rule} is not a rule of specs/rules.toml"));
    };
    let rt = runner::runtime();
    let profile = rt
        .block_on(profile::detect(fixture))
        .map_err(|why| format!("{rule}: cannot run: {why}"))?;
    if let Some(capability) = known.requires {
        let caps = fixture.capabilities();
        if !caps.has(capability) {
            eprintln!(
                "{rule}: skipped: {} does not declare the {capability:?} capability",
                fixture.name()
            );
            return Ok(());
        }
    }
    let mut failures = Vec::new();
    if let Some(problem) = profile.problems.get(rule) {
        failures.push(problem.clone());
    }
    for check in checks::all().into_iter().filter(|c| c.rule == rule) {
        let options = RunOptions::default();
        let run = rt.block_on(runner::run_check(fixture, &check, &profile, &options));
        if let Some(blocked) = &run.blocked {
            failures.push(format!("{}: not checked: {blocked}", check.name));
        }
        if let Some(failure) = &run.failure {
            failures.push(format!("{}: {failure}", check.name));
        }
        for (other, message) in &run.notes {
            if *other == rule {
                failures.push(format!("{}: {message}", check.name));
            } else {
                // Another rule's failure seen on the way: that rule's test reports it, as the
                // CLI's report counts it there, so one defect fails one test.
                eprintln!(
                    "{rule}: {}: saw {other} fail (its own test reports it): {message}",
                    check.name
                );
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("{rule} ({}): {}", known.title, failures.join("\n")))
    }
}

/// Runs the model-based test (`TOKENSTORE_CASES` cases, seed `TOKENSTORE_SEED`, default 0);
/// panics with the broken rule and the minimal steps.
pub fn model_test(fixture: &dyn StoreFixture) {
    if let Err(failure) = model_failure(fixture) {
        panic!("{failure}");
    }
}

/// Runs the model-based test (`TOKENSTORE_CASES` cases, seed `TOKENSTORE_SEED`, default 0):
/// `Err` names the broken rule and gives the minimal steps.
pub fn model_failure(fixture: &dyn StoreFixture) -> Result<(), String> {
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let options = RunOptions {
        cases: env("TOKENSTORE_CASES", 64) as u32,
        seed: env("TOKENSTORE_SEED", 0),
        ..RunOptions::default()
    };
    let rt = runner::runtime();
    let profile = rt
        .block_on(profile::detect(fixture))
        .map_err(|why| format!("cannot run: {why}"))?;
    let (_, failure) = runner::run_model(fixture, &profile, &options, &rt);
    match failure {
        None => Ok(()),
        Some((violation, transcript, _)) => Err(format!(
            "{} breaks {}: {}\nminimal steps:\n  {}",
            fixture.name(),
            violation.rule,
            violation.message,
            transcript.join("\n  ")
        )),
    }
}

/// Panics unless `ids` are exactly the rule table's ids, in order: the macro's list of tests
/// must not drift from the spec.
pub fn assert_covers(ids: &[&str]) {
    let table: Vec<&str> = rules::rules().iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        table.as_slice(),
        "suite! generates tests for other rules than specs/rules.toml lists"
    );
}

/// Makes the `main` of a test target with `harness = false` that runs the suite against the
/// store `fixture_expression` makes: `suite_main!(MyFixture::new())`. One test per rule, named
/// by its id (`save.merge`), and `model_based_sequences`; a rule whose capability the store does
/// not declare is ignored (counted as skipped). See [`rust_tests::run_tests`](crate::rust_tests::run_tests).
#[macro_export]
macro_rules! suite_main {
    ($fixture:expr) => {
        fn main() -> ::std::process::ExitCode {
            $crate::rust_tests::run_tests(|| $fixture)
        }
    };
}

/// Generates the suite for a store as `#[test]` functions in an ordinary test target:
/// `suite!(module_name, fixture_expression)`.
///
/// The module gets one `#[test]` per rule, named after the rule, a `model_based_sequences`
/// test, and `covers_every_rule`, which fails if this list drifts from `specs/rules.toml`. The
/// module glob-imports its parent, so name it differently from any crate the fixture expression
/// names (`suite!(my_store, my_store::Fixture::new())` is ambiguous, E0659). A rule the store's
/// capabilities exclude passes with a note on stderr; [`suite_main!`] counts it as skipped.
#[macro_export]
macro_rules! suite {
    ($module:ident, $fixture:expr) => {
        $crate::__suite_tests!($module, $fixture, [
            token_absent_empty => "token.absent-empty",
            token_roundtrip => "token.roundtrip",
            token_expiry_opaque => "token.expiry-opaque",
            find_by_user_name => "find.by-user-name",
            find_by_access_token => "find.by-access-token",
            find_by_grant_token => "find.by-grant-token",
            find_by_refresh_token => "find.by-refresh-token",
            find_grant_refresh_fallback => "find.grant-refresh-fallback",
            find_no_key_none => "find.no-key-none",
            find_exact_match => "find.exact-match",
            find_never_by_id => "find.never-by-id",
            find_hit_fills_absent => "find.hit-fills-absent",
            find_miss_none => "find.miss-none",
            find_by_id_hit => "find-by-id.hit",
            find_by_id_miss_not_found => "find-by-id.miss-not-found",
            save_id_selects => "save.id-selects",
            save_key_selects => "save.key-selects",
            save_merge => "save.merge",
            save_insert => "save.insert",
            save_id_written_back => "save.id-written-back",
            save_fresh_id_unique => "save.fresh-id-unique",
            save_refuse_tokenless => "save.refuse-tokenless",
            save_user_name_unique => "save.user-name-unique",
            save_unstored_id_conflict => "save.unstored-id-conflict",
            save_idempotent => "save.idempotent",
            delete_removes_exactly => "delete.removes-exactly",
            delete_missing_id => "delete.missing-id",
            get_tokens_exact => "get-tokens.exact",
            delete_tokens_empties => "delete-tokens.empties",
            store_failed_call_unchanged => "store.failed-call-unchanged",
            store_durable => "store.durable",
            store_namespaces_isolated => "store.namespaces-isolated",
            store_reopens => "store.reopens",
            concurrency_distinct_users => "concurrency.distinct-users",
            concurrency_same_user => "concurrency.same-user",
            concurrency_reader_consistent => "concurrency.reader-consistent",
            concurrency_linearizable => "concurrency.linearizable",
            processes_linearizable => "processes.linearizable",
            crash_acknowledged_kept => "crash.acknowledged-kept",
            server_loss_recovers => "server-loss.recovers",
            limits_declared => "limits.declared",
            calls_promise_settles => "calls.promise-settles",
        ]);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __suite_tests {
    ($module:ident, $fixture:expr, [$($test:ident => $rule:literal),* $(,)?]) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;

            fn fixture() -> ::std::boxed::Box<dyn $crate::StoreFixture> {
                ::std::boxed::Box::new($fixture)
            }

            $(
                #[test]
                fn $test() {
                    $crate::rust_tests::rule_test(&*fixture(), $rule);
                }
            )*

            #[test]
            fn model_based_sequences() {
                $crate::rust_tests::model_test(&*fixture());
            }

            #[test]
            fn covers_every_rule() {
                $crate::rust_tests::assert_covers(&[$($rule),*]);
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::Capabilities;
    use crate::DirFixture;

    #[test]
    fn a_rule_the_capabilities_exclude_is_an_ignored_trial_and_the_others_run() {
        let capabilities = Capabilities {
            persistent: true,
            namespaces: true,
            ..Capabilities::default()
        };
        let fixture = DirFixture::new("list", capabilities, |_, _| {
            Ok(Arc::new(tokenstore_list::list_store()))
        });
        let trials = trials(Arc::new(fixture));
        let ignored: Vec<&str> = trials
            .iter()
            .filter(|t| t.has_ignored_flag())
            .map(|t| t.name())
            .collect();
        let excluded: Vec<&str> = rules::rules()
            .iter()
            .filter(|r| r.requires.is_some_and(|c| !capabilities.has(c)))
            .map(|r| r.id.as_str())
            .collect();
        assert!(
            excluded.contains(&"concurrency.linearizable"),
            "{excluded:?}"
        );
        assert_eq!(ignored, excluded);
        assert_eq!(trials.len(), rules::rules().len() + 1);
        assert_eq!(trials.last().map(|t| t.name()), Some(MODEL_TEST));
    }

    /// A list store that never writes the stored id back to the caller's token.
    struct NoIdWriteBack(tokenstore_list::ListStore);

    #[async_trait::async_trait]
    impl tokenstore_core::TokenStore for NoIdWriteBack {
        async fn find_token(
            &self,
            probe: &tokenstore_core::Token,
        ) -> tokenstore_core::Result<Option<tokenstore_core::Token>> {
            self.0.find_token(probe).await
        }
        async fn save_token(
            &self,
            token: &mut tokenstore_core::Token,
        ) -> tokenstore_core::Result<()> {
            let before = token.id.clone();
            self.0.save_token(token).await?;
            token.id = before;
            Ok(())
        }
        async fn delete_token(&self, id: &str) -> tokenstore_core::Result<()> {
            self.0.delete_token(id).await
        }
        async fn get_tokens(&self) -> tokenstore_core::Result<Vec<tokenstore_core::Token>> {
            self.0.get_tokens().await
        }
        async fn delete_tokens(&self) -> tokenstore_core::Result<()> {
            self.0.delete_tokens().await
        }
        async fn find_token_by_id(
            &self,
            id: &str,
        ) -> tokenstore_core::Result<tokenstore_core::Token> {
            self.0.find_token_by_id(id).await
        }
    }

    #[test]
    fn one_defect_fails_the_test_of_its_rule_not_of_every_rule_whose_checks_see_it() {
        let fixture = DirFixture::new("no-id-write-back", Capabilities::default(), |_, _| {
            Ok(Arc::new(NoIdWriteBack(tokenstore_list::list_store())))
        });
        let failing: Vec<&str> = rules::rules()
            .iter()
            .filter(|r| r.requires.is_none())
            .map(|r| r.id.as_str())
            .filter(|rule| rule_failures(&fixture, rule).is_err())
            .collect();
        assert!(failing.contains(&"save.id-written-back"), "{failing:?}");
        assert!(
            failing.len() <= 3,
            "one defect fails {} tests: {failing:?}",
            failing.len()
        );
    }
}
