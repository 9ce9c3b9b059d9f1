//! The suite as Rust tests for a third-party store: [`crate::suite!`] generates one `#[test]` per
//! rule plus the model-based test, each calling the functions here.

use crate::fixture::StoreFixture;
use crate::runner::{self, RunOptions};
use crate::{checks, profile, rules};

/// Runs every check of `rule` against `fixture`; panics with every failure. A rule the store's
/// capabilities exclude passes with a note on stderr.
pub fn rule_test(fixture: &dyn StoreFixture, rule: &str) {
    let Some(known) = rules::rule(rule) else {
        panic!("{rule} is not a rule of specs/rules.toml");
    };
    let rt = runner::runtime();
    let profile = rt
        .block_on(profile::detect(fixture))
        .unwrap_or_else(|why| panic!("{rule}: cannot run: {why}"));
    if let Some(capability) = known.requires {
        let caps = fixture.capabilities();
        if !caps.has(capability) {
            eprintln!(
                "{rule}: skipped: {} does not declare the {capability:?} capability",
                fixture.name()
            );
            return;
        }
    }
    let mut failures = Vec::new();
    if let Some(problem) = profile.problems.get(rule) {
        failures.push(problem.clone());
    }
    for check in checks::all().into_iter().filter(|c| c.rule == rule) {
        let options = RunOptions::default();
        let run = rt.block_on(runner::run_check(fixture, &check, &profile, &options));
        for problem in run.problems() {
            failures.push(format!("{}: {problem}", check.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{rule} ({}): {}",
        known.title,
        failures.join("\n")
    );
}

/// Runs the model-based test (`TOKENSTORE_CASES` cases, seed `TOKENSTORE_SEED`, default 0);
/// panics with the broken rule and the minimal steps.
pub fn model_test(fixture: &dyn StoreFixture) {
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
        .unwrap_or_else(|why| panic!("cannot run: {why}"));
    let (_, failure) = runner::run_model(fixture, &profile, &options, &rt);
    if let Some((violation, transcript, _)) = failure {
        panic!(
            "{} breaks {}: {}\nminimal steps:\n  {}",
            fixture.name(),
            violation.rule,
            violation.message,
            transcript.join("\n  ")
        );
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

/// Generates the suite for a store: `suite!(module_name, fixture_expression)`.
///
/// The module gets one `#[test]` per rule, named after the rule, a `model_based_sequences`
/// test, and `covers_every_rule`, which fails if this list drifts from `specs/rules.toml`.
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
                    $crate::suite::rule_test(&*fixture(), $rule);
                }
            )*

            #[test]
            fn model_based_sequences() {
                $crate::suite::model_test(&*fixture());
            }

            #[test]
            fn covers_every_rule() {
                $crate::suite::assert_covers(&[$($rule),*]);
            }
        }
    };
}
