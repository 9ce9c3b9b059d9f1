//! The suite tested against itself: each deliberately broken store must be caught by the rule it
//! breaks, every rule must have a broken store that it catches, and a correct store must pass.

use crate::support::broken::{BrokenFixture, Mutation};
use rstest::rstest;
use tokenstore_suite::{check_store, rules, RunOptions, Status, StoreReport};

fn check(mutation: Mutation) -> StoreReport {
    let options = RunOptions {
        cases: 48,
        seed: 7,
        ..RunOptions::default()
    };
    check_store(&BrokenFixture(mutation), &options, &|_| {})
}

fn failures(report: &StoreReport) -> Vec<String> {
    report
        .rules
        .iter()
        .filter(|r| r.status == Status::Fail)
        .map(|r| format!("{}: {}", r.id, r.message.clone().unwrap_or_default()))
        .collect()
}

/// Each broken store, the rule it breaks, and every rule the kit may report failed for it (the
/// rule it breaks first): the blame is asserted, not only the catch. A store with one fault
/// fails at most five rules.
const CAUGHT_BY: &[(Mutation, &str, &[&str])] = &[
    (
        Mutation::TrimsValues,
        "token.roundtrip",
        &["token.roundtrip"],
    ),
    (
        Mutation::EmptyStringForAbsent,
        "token.absent-empty",
        &[
            "token.absent-empty",
            "token.roundtrip",
            "find.hit-fills-absent",
            "store.namespaces-isolated",
        ],
    ),
    (
        Mutation::ExpiryAsNumber,
        "token.expiry-opaque",
        &["token.roundtrip", "token.expiry-opaque", "save.insert"],
    ),
    (
        Mutation::UserNameNotExclusive,
        "find.by-user-name",
        &["find.by-user-name", "find.miss-none"],
    ),
    (
        Mutation::NoAccessKey,
        "find.by-access-token",
        &[
            "token.absent-empty",
            "find.by-access-token",
            "find.hit-fills-absent",
        ],
    ),
    (
        Mutation::NoGrantKey,
        "find.by-grant-token",
        &["find.by-grant-token", "save.insert"],
    ),
    (
        Mutation::NoRefreshKey,
        "find.by-refresh-token",
        &["find.by-refresh-token"],
    ),
    (
        Mutation::FallbackOnlyInFind,
        "find.grant-refresh-fallback",
        &["find.grant-refresh-fallback"],
    ),
    (
        Mutation::FirstRowWithoutKey,
        "find.no-key-none",
        &[
            "find.by-access-token",
            "find.by-grant-token",
            "find.by-refresh-token",
            "find.no-key-none",
            "find.never-by-id",
        ],
    ),
    (
        Mutation::CaseInsensitiveUserName,
        "find.exact-match",
        &["find.exact-match", "find.miss-none"],
    ),
    (
        Mutation::FindsById,
        "find.never-by-id",
        &[
            "find.grant-refresh-fallback",
            "find.no-key-none",
            "find.never-by-id",
        ],
    ),
    (
        Mutation::FindOverwritesProbe,
        "find.hit-fills-absent",
        &["find.hit-fills-absent", "store.namespaces-isolated"],
    ),
    (
        Mutation::MissReturnsProbe,
        "find.miss-none",
        &["find.grant-refresh-fallback", "find.miss-none"],
    ),
    (
        Mutation::ByIdDropsField,
        "find-by-id.hit",
        &[
            "token.roundtrip",
            "find-by-id.hit",
            "save.merge",
            "limits.declared",
        ],
    ),
    (
        Mutation::ByIdMissWrongError,
        "find-by-id.miss-not-found",
        &[
            "find-by-id.miss-not-found",
            "delete.removes-exactly",
            "delete-tokens.empties",
        ],
    ),
    (
        Mutation::IgnoresIdOnSave,
        "save.id-selects",
        &[
            "save.id-selects",
            "save.insert",
            "save.unstored-id-conflict",
        ],
    ),
    (
        Mutation::KeySaveInserts,
        "save.key-selects",
        &[
            "save.key-selects",
            "save.merge",
            "save.id-written-back",
            "save.idempotent",
        ],
    ),
    (
        Mutation::ReplacesInsteadOfMerge,
        "save.merge",
        &["save.key-selects", "save.merge"],
    ),
    (Mutation::CallerIdIgnored, "save.insert", &["save.insert"]),
    (
        Mutation::NoIdWriteBack,
        "save.id-written-back",
        &["save.id-written-back"],
    ),
    (
        Mutation::CountingIds,
        "save.fresh-id-unique",
        &["save.fresh-id-unique"],
    ),
    (
        Mutation::AcceptsTokenless,
        "save.refuse-tokenless",
        &["save.refuse-tokenless", "store.failed-call-unchanged"],
    ),
    (
        Mutation::SkipsUserConflict,
        "save.user-name-unique",
        &["save.user-name-unique", "store.failed-call-unchanged"],
    ),
    (
        Mutation::UnstoredIdIgnored,
        "save.unstored-id-conflict",
        &["save.unstored-id-conflict", "store.failed-call-unchanged"],
    ),
    (
        Mutation::InsertsWhenUnchanged,
        "save.idempotent",
        &["save.idempotent"],
    ),
    (
        Mutation::DeleteIsNoop,
        "delete.removes-exactly",
        &[
            "token.roundtrip",
            "save.fresh-id-unique",
            "delete.removes-exactly",
        ],
    ),
    (
        Mutation::DeleteMissingFlips,
        "delete.missing-id",
        &["delete.missing-id", "concurrency.linearizable"],
    ),
    (
        Mutation::DuplicatesInGetTokens,
        "get-tokens.exact",
        &["get-tokens.exact"],
    ),
    (
        Mutation::DeleteTokensKeepsFirst,
        "delete-tokens.empties",
        &["delete-tokens.empties", "store.durable"],
    ),
    (
        Mutation::PartialWriteOnConflict,
        "store.failed-call-unchanged",
        &["store.failed-call-unchanged"],
    ),
    (
        Mutation::ForgetsOnReopen,
        "store.durable",
        &["store.durable"],
    ),
    (
        Mutation::SharedNamespaces,
        "store.namespaces-isolated",
        &["store.namespaces-isolated"],
    ),
    (
        Mutation::RacyUpsert,
        "concurrency.same-user",
        &["concurrency.same-user", "concurrency.linearizable"],
    ),
    (
        Mutation::RacyIds,
        "concurrency.distinct-users",
        &[
            "save.fresh-id-unique",
            "concurrency.distinct-users",
            "concurrency.same-user",
            "concurrency.linearizable",
        ],
    ),
    (
        Mutation::NonAtomicUpdate,
        "concurrency.reader-consistent",
        &[
            "concurrency.same-user",
            "concurrency.reader-consistent",
            "concurrency.linearizable",
        ],
    ),
    (
        Mutation::RacyUpsert,
        "concurrency.linearizable",
        &["concurrency.same-user", "concurrency.linearizable"],
    ),
    (
        Mutation::NeverReconnects,
        "server-loss.recovers",
        &["server-loss.recovers"],
    ),
    (
        Mutation::UnenforcedLimit,
        "limits.declared",
        &["limits.declared"],
    ),
];

/// Rules whose broken stores run in other processes: the Python negative controls of
/// `harness/tests/kit/adapter.rs` (a racy upsert across processes, a file rewritten in place), and the
/// Node.js negative controls that answer with a plain value where the SDK awaits a Promise.
const CAUGHT_BY_ADAPTER_CONTROLS: &[&str] = &[
    "processes.linearizable",
    "crash.acknowledged-kept",
    "calls.promise-settles",
];

#[rstest]
fn broken_store_is_caught_by_the_rule_it_breaks(
    #[values(
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
        25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37
    )]
    case: usize,
) {
    let (mutation, rule, blamed) = CAUGHT_BY[case];
    let report = check(mutation);
    let verdict = report.rule(rule).expect("every rule is reported");
    let failed: Vec<&str> = report
        .rules
        .iter()
        .filter(|r| r.status == Status::Fail)
        .map(|r| r.id.as_str())
        .collect();
    // Races do not always show, so a failed set may be smaller than the listed one; it never
    // holds a rule the list does not name. A history is replayed one call at a time to tell a
    // sequential fault from a race, and a replay does not always meet the same ids: beside a
    // listed failure, concurrency.linearizable may show too.
    let extra_history =
        |r: &&str| *r == "concurrency.linearizable" && failed.iter().any(|f| blamed.contains(f));
    assert!(
        failed
            .iter()
            .all(|r| blamed.contains(r) || extra_history(r)),
        "{mutation:?} should fail only {blamed:?}, failed {failed:?}: {:#?}",
        failures(&report)
    );
    assert_eq!(
        verdict.status,
        Status::Fail,
        "{mutation:?} should fail {rule}; failures: {:#?}",
        failures(&report)
    );
    assert!(
        verdict.message.as_deref().is_some_and(|m| !m.is_empty()),
        "a failure of {rule} must say why"
    );
    let must = rules::rule(rule).unwrap().level == tokenstore_suite::rules::Level::Must;
    if must {
        assert!(
            report.must_failed(),
            "a failed MUST rule makes run exit non-zero"
        );
    }
}

#[test]
fn every_rule_has_a_broken_store_it_catches() {
    assert_eq!(CAUGHT_BY.len(), 38);
    for (mutation, rule, blamed) in CAUGHT_BY {
        assert!(
            blamed.contains(rule) && blamed.len() <= 5,
            "{mutation:?}: its blamed set {blamed:?} must hold {rule} and at most 5 rules"
        );
    }
    for rule in rules::rules() {
        assert!(
            CAUGHT_BY.iter().any(|(_, r, _)| *r == rule.id)
                || CAUGHT_BY_ADAPTER_CONTROLS.contains(&rule.id.as_str()),
            "no broken store breaks {}",
            rule.id
        );
    }
}

#[test]
fn correct_list_store_raises_no_alarm() {
    let report = check(Mutation::None);
    assert_eq!(failures(&report), Vec::<String>::new());
    let skipped: Vec<&str> = report
        .rules
        .iter()
        .filter(|r| r.status == Status::Skip)
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(
        skipped,
        ["processes.linearizable", "crash.acknowledged-kept"],
        "only the processes tier is skipped"
    );
    assert!(!report.must_failed());
}

#[test]
fn model_based_failure_is_shrunk_saved_and_replayable() {
    use tokenstore_suite::machine::execute;
    use tokenstore_suite::replay::ReplayFile;
    use tokenstore_suite::{profile, runner, StoreFixture};

    let dir = tempfile::tempdir().unwrap();
    let options = RunOptions {
        cases: 200,
        seed: 5,
        replay_dir: Some(dir.path().to_owned()),
        ..RunOptions::default()
    };
    let broken = BrokenFixture(Mutation::TrimsValues);
    let rt = runner::runtime();
    let profile = rt.block_on(profile::detect(&broken)).unwrap();
    let (stats, failure) = runner::run_model(&broken, &profile, &options, &rt);
    assert!(stats.steps > 0);
    let (violation, transcript, steps) =
        failure.expect("trimming values is found by random sequences");
    assert_eq!(violation.rule, "token.roundtrip");
    assert!(steps.len() <= 3, "not shrunk: {transcript:#?}");
    assert!(
        transcript
            .last()
            .unwrap()
            .contains("breaks token.roundtrip"),
        "{transcript:#?}"
    );

    let report = check_store(&broken, &options, &|_| {});
    let repro = report
        .rule("token.roundtrip")
        .unwrap()
        .repro
        .clone()
        .expect("a model-based failure has a repro");
    let file =
        ReplayFile::read(std::path::Path::new(repro.replay_file.as_deref().unwrap())).unwrap();
    assert_eq!(file.rule, "token.roundtrip");
    let replayed = rt.block_on(async {
        let storage = broken.storage().await.unwrap();
        execute(&*storage, &file.steps, profile.choices, None)
            .await
            .1
    });
    assert_eq!(replayed.unwrap_err().rule, "token.roundtrip");
    let correct = BrokenFixture(Mutation::None);
    let on_correct = rt.block_on(async {
        let storage = correct.storage().await.unwrap();
        execute(&*storage, &file.steps, profile.choices, None)
            .await
            .1
    });
    assert_eq!(on_correct, Ok(()));
}

#[test]
fn reports_never_print_a_secret_value() {
    let mut report = tokenstore_suite::Report::default();
    for mutation in [
        Mutation::ReplacesInsteadOfMerge,
        Mutation::TrimsValues,
        Mutation::FindOverwritesProbe,
        Mutation::IgnoresIdOnSave,
        Mutation::RacyUpsert,
        Mutation::NeverReconnects,
        Mutation::UnenforcedLimit,
    ] {
        report.stores.push(check(mutation));
    }
    let outputs = [report.to_human(), report.to_json(), report.to_junit()];
    for output in &outputs {
        assert!(
            output.contains("<secret ") || output.contains("&lt;secret "),
            "secrets are shown as fingerprints"
        );
        for field in [
            "client_secret",
            "refresh_token",
            "access_token",
            "grant_token",
        ] {
            for quote in ["\"", "\\\"", "&quot;"] {
                // `field:"` opening a value that is not empty.
                let leak = format!("{field}:{quote}");
                let empty = format!("{leak}{quote}");
                let leaked = output
                    .match_indices(&leak)
                    .any(|(i, _)| !output[i..].starts_with(&empty));
                assert!(!leaked, "{leak} opens a secret value in:\n{output}");
            }
        }
    }
}
