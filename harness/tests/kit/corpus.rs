//! The corpus of stores written the way SDK users write them (`harness/corpus/`, several faults
//! each, their root causes in each file's docstring): the kit fails exactly the rules of those
//! root causes, each once, fails no rule that holds in the store's code, and keeps every report
//! format small. A store written for the SDK's older interface is refused in one line.

use rstest::rstest;
use std::path::Path;
use std::time::Duration;
use tokenstore_suite::report::Report;
use tokenstore_suite::{check_store, AdapterFixture, RunOptions, Status};

use crate::support::python_controls::{python_dir, python_with_sdk};

/// The adapter command for the corpus store `class` (`module:Class`), in a fresh working
/// directory per reset, as the stores keep their files at relative paths.
fn corpus_command(python: &str, class: &str) -> Vec<String> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/python");
    [
        python,
        python_dir().join("tokenstore_adapter.py").to_str().unwrap(),
        "--path",
        corpus.to_str().unwrap(),
        "--store",
        class,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[rstest]
#[case::article_sample("seed_sqlite:CustomStoreSQLite", &[
    "token.absent-empty",
    "save.refuse-tokenless",
    "save.user-name-unique",
    "save.unstored-id-conflict",
    "delete-tokens.empties",
    "store.reopens",
])]
#[case::private_fields("private_fields:SQLiteTokenStore", &[
    "find-by-id.miss-not-found",
    "save.merge",
    "save.insert",
    "save.refuse-tokenless",
])]
#[case::default_user("default_user:UserTokenStore", &[
    "token.absent-empty",
    "find.no-key-none",
    "find.hit-fills-absent",
    "find-by-id.miss-not-found",
    "save.key-selects",
    "save.insert",
    "save.refuse-tokenless",
    "save.user-name-unique",
    "save.unstored-id-conflict",
    "save.idempotent",
])]
#[case::raw_rows("raw_rows:CountingStore", &[
    "token.absent-empty",
    "find-by-id.miss-not-found",
    "save.insert",
    "get-tokens.exact",
])]
fn corpus_store_fails_its_root_causes_and_nothing_else(
    #[case] class: &str,
    #[case] root_causes: &[&str],
) {
    let Some(python) = python_with_sdk() else {
        return;
    };
    let fixture = AdapterFixture::start(
        &corpus_command(&python, class),
        Duration::from_secs(10),
        true,
    )
    .expect("the adapter starts");
    let options = RunOptions {
        cases: 16,
        seed: 7,
        ..RunOptions::default()
    };
    let report = check_store(&fixture, &options, &|_| {});
    let failed: Vec<&str> = report
        .rules
        .iter()
        .filter(|r| r.status == Status::Fail)
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(failed, root_causes, "{:#?}", report.rules);
    // Each root cause once, leading the report, and every rule it blocks blocked by it.
    let causes: Vec<&str> = report.root_causes.iter().map(|c| c.rule.as_str()).collect();
    assert_eq!(causes.len(), root_causes.len());
    assert!(causes.iter().all(|c| root_causes.contains(c)), "{causes:?}");
    for blocked in report.rules.iter().filter(|r| r.status == Status::Blocked) {
        let by = blocked.blocked_by.as_deref().unwrap_or_default();
        assert!(root_causes.contains(&by), "{} blocked by {by}", blocked.id);
    }
    let whole = Report {
        stores: vec![report],
    };
    for (format, text) in [
        ("human", whole.to_human()),
        ("json", whole.to_json()),
        ("markdown", whole.to_markdown()),
        ("html", whole.to_html()),
        ("junit", whole.to_junit()),
    ] {
        assert!(
            text.len() < 100_000,
            "the {format} report is {} bytes",
            text.len()
        );
    }
}

#[test]
fn store_of_the_older_interface_is_refused_in_one_line_naming_it() {
    let Some(python) = python_with_sdk() else {
        return;
    };
    let refused = AdapterFixture::start(
        &corpus_command(&python, "older_interface:JsonTokenStore"),
        Duration::from_secs(10),
        true,
    );
    let Err(message) = refused else {
        panic!("a store of the older interface started");
    };
    let message = message.to_string();
    assert!(!message.contains('\n'), "{message}");
    assert!(message.contains("older TokenStore interface"), "{message}");
    assert!(message.contains("get_token_by_id(id, token)"), "{message}");
}

/// Rows an earlier run left, in a shape the store's own `get_tokens` cannot answer with: the
/// start says so, names `--allow-destructive`, and leaves the rows alone.
#[test]
fn storage_holding_rows_the_store_cannot_list_is_refused_naming_the_way_on() {
    let Some(python) = python_with_sdk() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("left.db");
    let made = std::process::Command::new(&python)
        .arg("-c")
        .arg(format!(
            "import sqlite3; db = sqlite3.connect({:?}); \
             db.execute('CREATE TABLE tokens (id TEXT PRIMARY KEY, user_name TEXT, client_id TEXT, client_secret TEXT, refresh_token TEXT, access_token TEXT, grant_token TEXT, expiry_time TEXT, redirect_url TEXT, api_domain TEXT)'); \
             db.execute(\"INSERT INTO tokens (id, user_name, refresh_token) VALUES ('1', 'left', 'r')\"); db.commit()",
            db.to_str().unwrap()
        ))
        .status()
        .unwrap();
    assert!(made.success());
    let mut command = corpus_command(&python, "raw_rows:CountingStore");
    command.extend(["--kwargs".into(), format!(r#"{{"path": {:?}}}"#, db)]);
    let Err(message) = AdapterFixture::start(&command, Duration::from_secs(10), false) else {
        panic!("a store holding rows it cannot list was checked");
    };
    assert!(message.contains("--allow-destructive"), "{message}");
    assert!(message.contains("earlier run"), "{message}");
    let rows = std::process::Command::new(&python)
        .arg("-c")
        .arg(format!(
            "import sqlite3; print(sqlite3.connect({:?}).execute('SELECT COUNT(*) FROM tokens').fetchone()[0])",
            db.to_str().unwrap()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&rows.stdout).trim(), "1");
}
