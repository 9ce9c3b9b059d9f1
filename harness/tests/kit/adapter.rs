//! Stores behind the adapter protocol: the Python positive control passes every rule, each
//! negative control fails the rule it breaks, and an adapter that hangs, exits or prints garbage
//! is reported with a clear message instead of hanging the harness.

use rstest::rstest;
use std::path::Path;
use std::time::{Duration, Instant};
use tokenstore_suite::AdapterFixture;
use tokenstore_suite::{check_store, RunOptions, Selection, Status, StoreFixture};

use crate::support::{every_rule_but, node_controls, python_controls};

use python_controls::{adapter_command, control, python_dir, python_with_sdk};

fn failed(report: &tokenstore_suite::StoreReport) -> Vec<String> {
    report
        .rules
        .iter()
        .filter(|r| r.status == Status::Fail)
        .map(|r| format!("{}: {:?}", r.id, r.message))
        .collect()
}

#[test]
fn python_positive_control_passes_every_rule() {
    let Some(python) = python_with_sdk() else {
        return;
    };
    let fixture = control(&python, "sqlite_store:SqliteTokenStore");
    let options = control_options();
    let report = check_store(&fixture, &options, &|_| {});
    assert_eq!(failed(&report), Vec::<String>::new());
    assert!(fixture.capabilities().persistent && fixture.capabilities().namespaces);
    assert_eq!(report.rule("store.durable").unwrap().status, Status::Pass);
    // Its calls overlap on the adapter's threads: the concurrency tier runs, and passes.
    assert!(fixture.capabilities().concurrent);
    for rule in [
        "concurrency.distinct-users",
        "concurrency.same-user",
        "concurrency.reader-consistent",
        "concurrency.linearizable",
    ] {
        assert_eq!(report.rule(rule).unwrap().status, Status::Pass, "{rule}");
    }
}

/// A store that is wrong only when called from several threads fails the concurrency tier,
/// and only the concurrency tier: its calls one at a time run on the thread that made it.
#[rstest]
#[case::shared_without_a_lock("broken_stores:SharedConnectionStore")]
#[case::own_thread_connection("broken_stores:OwnThreadConnectionStore")]
fn python_store_unsafe_across_threads_fails_the_concurrency_tier_alone(#[case] class: &str) {
    let Some(python) = python_with_sdk() else {
        return;
    };
    let options = blame_options(every_rule_but(&["processes", "crash"]));
    let report = check_store(&control(&python, class), &options, &|_| {});
    let fails = with_status(&report, Status::Fail);
    assert!(
        fails.iter().any(|r| r.starts_with("concurrency.")),
        "{:#?}",
        failed(&report)
    );
    assert!(
        fails.iter().all(|r| r.starts_with("concurrency.")),
        "{:#?}",
        failed(&report)
    );
}

/// With --no-threads the adapter speaks protocol 1: one call at a time, no concurrency tier.
#[test]
fn python_adapter_without_threads_skips_the_concurrency_tier() {
    let Some(python) = python_with_sdk() else {
        return;
    };
    let mut command = python_controls::control_command(&python, "sqlite_store:SqliteTokenStore");
    command.push("--no-threads".into());
    let fixture = AdapterFixture::start(&command, Duration::from_secs(10), true).unwrap();
    assert_serial(&fixture);
}

/// Checks `fixture`, an adapter that takes one call at a time, but for the processes and crash
/// tiers: the concurrency tier is skipped for the capability it lacks; the report.
fn assert_serial(fixture: &AdapterFixture) -> tokenstore_suite::StoreReport {
    assert!(!fixture.capabilities().concurrent);
    let report = check_store(
        fixture,
        &blame_options(every_rule_but(&["processes", "crash"])),
        &|_| {},
    );
    let verdict = report.rule("concurrency.linearizable").unwrap();
    assert_eq!(verdict.status, Status::Skip);
    let why = verdict.message.as_deref().unwrap_or_default();
    assert!(why.contains("concurrent capability"), "{why}");
    report
}

#[rstest]
#[case::case_insensitive("broken_stores:CaseInsensitiveStore", "find.exact-match")]
#[case::trimming("broken_stores:TrimmingStore", "token.roundtrip")]
#[case::no_id_write_back("broken_stores:NoIdWriteBackStore", "save.id-written-back")]
#[case::counting_ids("broken_stores:CountingIdStore", "save.fresh-id-unique")]
#[case::racy_upsert("broken_stores:RacyUpsertStore", "processes.linearizable")]
#[case::in_place_file("broken_stores:InPlaceFileStore", "crash.acknowledged-kept")]
#[case::none_for_empty("broken_stores:NoneForEmptyStore", "get-tokens.exact")]
fn python_negative_control_fails_its_rule(#[case] class: &str, #[case] rule: &str) {
    let Some(python) = python_with_sdk() else {
        return;
    };
    let options = blame_options(Selection::of(&[rule]).unwrap());
    let report = check_store(&control(&python, class), &options, &|_| {});
    assert_eq!(
        report.rule(rule).unwrap().status,
        Status::Fail,
        "{class} should fail {rule}: {:#?}",
        failed(&report)
    );
}

/// The SDK-style control `class` behind the adapter, with `kwargs` as given (none: the store
/// takes no argument and writes in its working directory).
fn sdk_style(python: &str, class: &str, kwargs: Option<&str>) -> AdapterFixture {
    AdapterFixture::start(
        &adapter_command(python, class, kwargs),
        Duration::from_secs(10),
        true,
    )
    .expect("the adapter starts")
}

/// The options of a control that must pass every rule: every rule and tier.
fn control_options() -> RunOptions {
    RunOptions {
        cases: 64,
        seed: 21,
        ..RunOptions::default()
    }
}

/// The options of a test of blame: the rules `only` selects (those that can see the fault, and
/// those it must not fail), and few model-based sequences (the faults are caught by example
/// checks; the sequences only need to run).
fn blame_options(only: Selection) -> RunOptions {
    RunOptions {
        cases: 8,
        only,
        ..control_options()
    }
}

fn with_status(report: &tokenstore_suite::StoreReport, status: Status) -> Vec<&str> {
    report
        .rules
        .iter()
        .filter(|r| r.status == status)
        .map(|r| r.id.as_str())
        .collect()
}

#[rstest]
#[case::sdk_exception(
    "sdk_style_stores:SdkExceptionStore",
    Some(r#"{"path": "{tmpdir}/tokens.db", "table": "{namespace}"}"#)
)]
#[case::relative_path("sdk_style_stores:SeedStyleStore", None)]
fn store_raising_only_the_sdk_exception_passes_every_rule(
    #[case] class: &str,
    #[case] kwargs: Option<&str>,
) {
    let Some(python) = python_with_sdk() else {
        return;
    };
    // Its errors are the SDK's untyped exception: what the rules of calls made one at a time
    // judge. (The processes and crash tiers are the SQLite control's, checked there.)
    let options = blame_options(every_rule_but(&["processes", "crash"]));
    let report = check_store(&sdk_style(&python, class, kwargs), &options, &|_| {});
    assert_eq!(failed(&report), Vec::<String>::new());
    assert_eq!(with_status(&report, Status::Blocked), Vec::<&str>::new());
    assert_eq!(
        report.profile.get("errors").map(String::as_str),
        Some("untyped")
    );
    assert!(!report.must_failed());
}

#[test]
fn raising_delete_tokens_fails_that_rule_and_every_other_rule_is_checked() {
    let Some(python) = python_with_sdk() else {
        return;
    };
    let options = blame_options(every_rule_but(&["processes", "crash"]));
    let fixture = sdk_style(&python, "sdk_style_stores:RaisingDeleteTokensStore", None);
    let report = check_store(&fixture, &options, &|_| {});
    assert_eq!(
        with_status(&report, Status::Fail),
        ["delete-tokens.empties"],
        "{:#?}",
        failed(&report)
    );
    // Only the rules that stand on emptying the store (the concurrency tier, the limits) are
    // not checked, blocked by it.
    let blocked = with_status(&report, Status::Blocked);
    let stand_on_emptying: Vec<&str> = tokenstore_suite::rules::rules()
        .iter()
        .filter(|r| r.relies_on.iter().any(|f| f == "delete-tokens.empties"))
        .filter(|r| {
            options.only.selects(&r.id) && report.rule(&r.id).unwrap().status != Status::Skip
        })
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(blocked, stand_on_emptying);
    assert!(report
        .rules
        .iter()
        .filter(|r| r.status == Status::Blocked)
        .all(|r| r.blocked_by.as_deref() == Some("delete-tokens.empties")));
    assert!(with_status(&report, Status::Pass).len() >= 25);
}

#[test]
fn delete_tokens_that_cannot_empty_shared_storage_blocks_the_rules_it_keeps_from_running() {
    let Some(python) = python_with_sdk() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let kwargs = format!(r#"{{"path": {:?}}}"#, dir.path().join("shared.db"));
    let fixture = sdk_style(
        &python,
        "sdk_style_stores:SharedRaisingDeleteTokensStore",
        Some(&kwargs),
    );
    let report = check_store(
        &fixture,
        &RunOptions {
            cases: 4,
            ..RunOptions::default()
        },
        &|_| {},
    );
    assert_eq!(
        with_status(&report, Status::Fail),
        ["delete-tokens.empties"]
    );
    let blocked: Vec<_> = report
        .rules
        .iter()
        .filter(|r| r.status == Status::Blocked)
        .collect();
    assert!(blocked.len() >= 20, "{:#?}", report.rules);
    assert!(blocked
        .iter()
        .all(|r| r.blocked_by.as_deref() == Some("delete-tokens.empties")));
    assert_eq!(report.summary.blocked, blocked.len());
    assert_eq!(report.summary.failed, 1);
    assert!(report.must_failed(), "a blocked rule fails the run");
}

fn misbehaving(mode: &str) -> AdapterFixture {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/adapters/misbehaving.py");
    let command = vec![
        "python3".to_owned(),
        script.to_str().unwrap().to_owned(),
        mode.to_owned(),
    ];
    AdapterFixture::start(&command, Duration::from_millis(1500), true).expect("hello is answered")
}

#[rstest]
#[case::hang("hang", "did not answer reset within 1.5 s")]
#[case::exit("exit", "exited before answering reset")]
#[case::garbage("garbage", "a line that is not JSON")]
#[case::wrong_seq("wrong-seq", "seq 999")]
fn broken_adapter_is_reported_not_waited_for(#[case] mode: &str, #[case] says: &str) {
    let fixture = misbehaving(mode);
    let started = Instant::now();
    let rt = tokenstore_suite::runner::runtime();
    let error = rt
        .block_on(fixture.storage())
        .err()
        .expect("a broken adapter gives no storage");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the harness waited {:?}",
        started.elapsed()
    );
    assert!(error.message.contains(says), "{error}");
    assert!(
        error.message.contains("about to misbehave"),
        "the report shows the adapter's stderr: {error}"
    );
    // The run goes on and fails every rule with the same report, without waiting again.
    let report = check_store(
        &fixture,
        &RunOptions {
            cases: 4,
            ..RunOptions::default()
        },
        &|_| {},
    );
    assert!(report.must_failed());
    assert!(
        report.rules.iter().all(|r| r.status == Status::Fail),
        "{:#?}",
        report.rules
    );
}

#[test]
fn adapter_that_does_not_start_is_a_one_line_error() {
    let command = vec!["/nonexistent/python".to_owned()];
    let error = AdapterFixture::start(&command, Duration::from_secs(1), false)
        .err()
        .unwrap();
    assert!(error.contains("cannot start the adapter"), "{error}");
    assert_eq!(error.lines().count(), 1);
}

#[test]
fn store_that_holds_tokens_is_refused_and_left_alone() {
    let Some(python) = python_with_sdk() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("production.db");
    let controls = python_dir().join("controls");
    let seed = format!(
        "import sys; sys.path.insert(0, {controls:?}); from sqlite_store import SqliteTokenStore; \
         from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken; \
         from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature; \
         t = object.__new__(OAuthToken); [getattr(t, 'set_' + a)(None) for a in ('id','client_id','client_secret','access_token','grant_token','expires_in','redirect_url','api_domain')]; \
         t.set_user_signature(UserSignature('real-user')); t.set_refresh_token('real-refresh'); \
         s = SqliteTokenStore({db:?}, 'main'); s.save_token(t); print(len(s.get_tokens()))"
    );
    let count = |code: &str| {
        let out = std::process::Command::new(&python)
            .args(["-c", code])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(count(&seed), "1");
    let kwargs = format!(r#"{{"path": {db:?}, "table": "main"}}"#);
    let adapter = python_dir().join("tokenstore_adapter.py");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "--cases",
            "2",
            "--only",
            "delete-tokens",
            "--format",
            "json",
        ];
        args.extend(extra);
        args.extend([
            "--adapter",
            "--",
            &python,
            adapter.to_str().unwrap(),
            "--path",
            controls.to_str().unwrap(),
            "--store",
            "sqlite_store:SqliteTokenStore",
            "--kwargs",
            &kwargs,
        ]);
        std::process::Command::new(env!("CARGO_BIN_EXE_tokenstore-check"))
            .args(&args)
            .output()
            .unwrap()
    };
    let refused = run(&[]);
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("already holds 1 tokens") && err.contains("--allow-destructive"),
        "{err}"
    );
    let left = format!("import sys; sys.path.insert(0, {controls:?}); from sqlite_store import SqliteTokenStore; print(len(SqliteTokenStore({db:?}, 'main').get_tokens()))");
    assert_eq!(count(&left), "1", "the refused run must change nothing");

    let allowed = run(&["--allow-destructive"]);
    assert_eq!(
        allowed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
    // The checks' own tokens may remain; the store's original one is gone.
    let original = format!(
        "import sys; sys.path.insert(0, {controls:?}); from sqlite_store import SqliteTokenStore; \
         print(sum(1 for t in SqliteTokenStore({db:?}, 'main').get_tokens() \
                   if t.get_user_signature() and t.get_user_signature().get_name() == 'real-user'))"
    );
    assert_eq!(
        count(&original),
        "0",
        "an allowed run deletes the tokens the store held"
    );
}

#[rstest]
#[case::module(&["--store", "no_such_module:Store"], "--store no_such_module:Store: cannot import module")]
#[case::class(&["--store", "sqlite_store:NoSuchClass"], "has no class 'NoSuchClass'")]
#[case::kwargs(&["--store", "sqlite_store:SqliteTokenStore", "--kwargs", "{\"path\": oops}"], "--kwargs '{\"path\": oops}' is not JSON")]
fn adapter_startup_error_is_one_line_naming_the_flag(#[case] flags: &[&str], #[case] says: &str) {
    let Some(python) = python_with_sdk() else {
        return;
    };
    let dir = python_dir();
    let adapter = dir.join("tokenstore_adapter.py");
    let controls = dir.join("controls");
    let mut args = vec![
        "run",
        "--adapter",
        "--",
        &python,
        adapter.to_str().unwrap(),
        "--path",
        controls.to_str().unwrap(),
    ];
    args.extend(flags);
    assert_one_line_startup_error(&args, says, "Traceback");
}

/// Runs `tokenstore-check ARGS`, whose adapter cannot start: exit status 2 and one line on
/// stderr that says `says`, without the language's stack trace (`trace` marks one).
fn assert_one_line_startup_error<S: AsRef<std::ffi::OsStr>>(args: &[S], says: &str, trace: &str) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tokenstore-check"))
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(says), "{err}");
    assert!(!err.contains(trace), "no stack trace: {err}");
}

/// The Node.js adapter: its controls, the way it reports what only a Node store can do, and its
/// startup errors.
mod node {
    use super::{blame_options, control_options, failed, with_status};
    use crate::support::every_rule_but;
    use rstest::rstest;
    use tokenstore_suite::{check_store, RunOptions, Selection, Status, StoreFixture};

    use super::node_controls::{node_command, node_control, node_dir, node_with_sdks};

    /// The positive control passes every rule: in two tests, each under a minute, the rules of
    /// one process (its calls overlap in the adapter's event loop, so the concurrency tier runs)
    /// and the tiers of several processes and of kills.
    #[rstest]
    #[case::one_process(
        every_rule_but(&["processes", "crash"]),
        &[
            "store.durable",
            "store.namespaces-isolated",
            "calls.promise-settles",
            "concurrency.distinct-users",
            "concurrency.same-user",
            "concurrency.reader-consistent",
            "concurrency.linearizable",
        ]
    )]
    #[case::processes_and_crash(
        Selection::of(&["processes", "crash"]).unwrap(),
        &["processes.linearizable", "crash.acknowledged-kept"]
    )]
    fn node_positive_control_passes_every_rule(#[case] only: Selection, #[case] checked: &[&str]) {
        if !node_with_sdks() {
            return;
        }
        let fixture = node_control("file_store.mjs", "FileTokenStore");
        let options = RunOptions {
            only,
            ..control_options()
        };
        let report = check_store(&fixture, &options, &|_| {});
        assert_eq!(failed(&report), Vec::<String>::new());
        assert_eq!(with_status(&report, Status::Blocked), Vec::<&str>::new());
        assert!(fixture.capabilities().concurrent);
        for rule in checked {
            assert_eq!(report.rule(rule).unwrap().status, Status::Pass, "{rule}");
        }
        assert_eq!(
            report.profile.get("errors").map(String::as_str),
            Some("typed")
        );
    }

    /// Each negative control fails its rule, and (where the fault shows in calls made one at a
    /// time) no other rule of those calls: one defect, one verdict. A fault of the processes or
    /// crash tier is checked by its rule alone.
    #[rstest]
    #[case::probe_on_miss("ProbeOnMissStore", "find.miss-none", true)]
    #[case::null_for_empty("NullForEmptyStore", "get-tokens.exact", true)]
    #[case::early_get_tokens("EarlyGetTokensStore", "get-tokens.exact", true)]
    #[case::sync_method("SyncFindStore", "calls.promise-settles", true)]
    #[case::escaping_rejection("EscapingRejectionStore", "calls.promise-settles", true)]
    #[case::case_insensitive("CaseInsensitiveStore", "find.exact-match", true)]
    #[case::no_id_write_back("NoIdWriteBackStore", "save.id-written-back", true)]
    #[case::racy("RacyFileStore", "processes.linearizable", false)]
    #[case::in_place("InPlaceFileStore", "crash.acknowledged-kept", false)]
    fn node_negative_control_fails_its_rule(
        #[case] class: &str,
        #[case] rule: &str,
        #[case] alone: bool,
    ) {
        if !node_with_sdks() {
            return;
        }
        let only = if alone {
            every_rule_but(&["concurrency", "processes", "crash"])
        } else {
            Selection::of(&[rule]).unwrap()
        };
        let report = check_store(
            &node_control("broken_stores.mjs", class),
            &blame_options(only),
            &|_| {},
        );
        let fails = with_status(&report, Status::Fail);
        assert!(
            fails.contains(&rule),
            "{class} should fail {rule}: {fails:?}"
        );
        if alone {
            assert_eq!(fails, [rule], "{class}: {:#?}", failed(&report));
        }
        assert!(report.must_failed());
    }

    /// A store whose save awaits between its read and its write is wrong only when calls
    /// overlap: it fails the concurrency tier, no sequential rule. (The processes tier sees it
    /// too: `node_processes_saving_at_once`.)
    #[test]
    fn node_store_that_interleaves_its_saves_fails_the_concurrency_tier() {
        if !node_with_sdks() {
            return;
        }
        let report = check_store(
            &node_control("broken_stores.mjs", "InterleavedSaveStore"),
            &blame_options(every_rule_but(&["processes", "crash"])),
            &|_| {},
        );
        let fails = with_status(&report, Status::Fail);
        assert!(
            fails.iter().any(|r| r.starts_with("concurrency.")),
            "{fails:?}"
        );
        assert!(
            fails.iter().all(|r| r.starts_with("concurrency.")),
            "{:#?}",
            failed(&report)
        );
    }

    /// The processes tier's load check, alone: eight processes saving at once lose saves of the
    /// store whose commit does not check that nobody published in between (a race, not a
    /// sequential defect), and none of the correct store's.
    #[rstest]
    #[case::racy("broken_stores.mjs", "RacyFileStore", false)]
    #[case::correct("file_store.mjs", "FileTokenStore", true)]
    fn node_processes_saving_at_once(
        #[case] module: &str,
        #[case] class: &str,
        #[case] lands: bool,
    ) {
        use tokenstore_suite::{checks, history, profile, runner};
        if !node_with_sdks() {
            return;
        }
        let fixture = node_control(module, class);
        let check = checks::all()
            .into_iter()
            .find(|c| c.name == "processes_saving_at_once_all_land")
            .expect("the processes tier's load check");
        let options = RunOptions {
            load: tokenstore_suite::Load {
                tasks: 16,
                processes: 8,
            },
            ..control_options()
        };
        let run = runner::runtime().block_on(async {
            let profile = profile::detect(&fixture).await.unwrap();
            runner::run_check(&fixture, &check, &profile, &options).await
        });
        assert_eq!(run.failure.is_none(), lands, "{class}: {:?}", run.failure);
        if let Some(failure) = run.failure {
            assert!(!failure.contains(history::SEQUENTIAL), "{failure}");
        }
    }

    /// With --serial the adapter speaks protocol 1: one call at a time, no concurrency tier.
    #[test]
    fn node_adapter_serial_skips_the_concurrency_tier() {
        if !node_with_sdks() {
            return;
        }
        let store = format!(
            "{}:InterleavedSaveStore",
            node_dir().join("controls/broken_stores.mjs").display()
        );
        let fixture = tokenstore_suite::AdapterFixture::start(
            &node_command(&store, r#"["{tmpdir}/{namespace}"]"#, &["--serial"]),
            std::time::Duration::from_secs(10),
            true,
        )
        .expect("the adapter starts");
        let report = super::assert_serial(&fixture);
        // Its calls one at a time are right: no rule of one caller fails.
        assert_eq!(failed(&report), Vec::<String>::new());
    }

    /// A method that returns a plain value is reported with what it returned and what to do;
    /// the store's answers are still judged by the other rules.
    #[test]
    fn plain_value_where_the_sdk_awaits_a_promise_is_named() {
        if !node_with_sdks() {
            return;
        }
        let only = Selection::of(&["calls.promise-settles", "find.by-user-name"]).unwrap();
        let report = check_store(
            &node_control("broken_stores.mjs", "SyncFindStore"),
            &blame_options(only),
            &|_| {},
        );
        let verdict = report.rule("calls.promise-settles").unwrap();
        let message = verdict.message.as_deref().unwrap_or_default();
        assert!(
            message.contains("findToken() returned") && message.contains("not a Promise"),
            "{message}"
        );
        assert_eq!(
            report.rule("find.by-user-name").unwrap().status,
            Status::Pass
        );
    }

    #[rstest]
    #[case::missing_file(&["--store", "./no_such_store.mjs:Store"], "no such file")]
    #[case::missing_export(&["--store", "CONTROLS/file_store.mjs:NoSuchStore"], "exports no class \"NoSuchStore\"")]
    #[case::bad_kwargs(&["--store", "CONTROLS/file_store.mjs:FileTokenStore", "--kwargs", "[oops"], "--kwargs \"[oops\" is not JSON")]
    #[case::typescript_source(&["--store", "CONTROLS/store.ts:Store"], "compile it first")]
    fn node_adapter_startup_error_is_one_line_naming_the_flag(
        #[case] flags: &[&str],
        #[case] says: &str,
    ) {
        if !node_with_sdks() {
            return;
        }
        let controls = node_dir().join("controls");
        let dir = tempfile::tempdir().unwrap();
        // A .ts file that exists, to be refused for what it is.
        std::fs::write(dir.path().join("store.ts"), "export class Store {}\n").unwrap();
        let flags: Vec<String> = flags
            .iter()
            .map(|f| {
                let base = if f.ends_with(".ts:Store") {
                    dir.path()
                } else {
                    controls.as_path()
                };
                f.replace("CONTROLS", base.to_str().unwrap())
            })
            .collect();
        let mut args = vec!["run".to_owned(), "--adapter".to_owned(), "--".to_owned()];
        args.extend(node_command("", "[]", &[]).into_iter().take(2));
        args.extend(flags);
        super::assert_one_line_startup_error(&args, says, "    at ");
    }
}
