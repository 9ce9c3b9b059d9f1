//! The corpus of stores written the way SDK users write them (Python in `harness/corpus/python`,
//! Node.js in `harness/adapters/node/corpus`, beside the SDKs they import; several faults each,
//! their root causes at the top of each file): the kit fails exactly the rules of those root
//! causes, each once, fails no rule that holds in the store's code, reports a store that keeps
//! its connections once under its resources, and keeps every report format small. A store
//! written for the SDK's older interface is refused in one line.

use rstest::rstest;
use std::path::Path;
use std::time::Duration;
use tokenstore_suite::report::{Report, RootCause};
use tokenstore_suite::{check_store, AdapterFixture, RunOptions, Status, StoreReport};

use crate::support::mysql_url;
use crate::support::node_controls::{node_command, node_dir, node_with_sdks};
use crate::support::python_controls::{python_dir, python_with_sdk};

/// The adapter command for the Python corpus store `class` (`module:Class`), in a fresh working
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

/// The Node.js corpus store `store` (`module.mjs:Class`) with `args` as its constructor's.
fn node_corpus_command(store: &str, args: &str) -> Vec<String> {
    let (module, class) = store.split_once(':').expect("module:Class");
    let path = node_dir().join("corpus").join(module);
    node_command(&format!("{}:{class}", path.to_str().unwrap()), args, &[])
}

/// The constructor arguments of a corpus store on the MySQL server of TOKENSTORE_MYSQL_URL, a
/// table `corpus_{name}_{namespace}` per namespace, dropped first so that the store makes it
/// with its own schema; `None` when no server is named.
fn on_mysql(name: &str) -> Option<String> {
    use mysql_async::prelude::Queryable;
    let opts = mysql_async::Opts::from_url(&mysql_url()?).expect("TOKENSTORE_MYSQL_URL parses");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut conn = mysql_async::Conn::new(opts.clone())
            .await
            .expect("the MySQL server answers");
        conn.query_drop(format!(
            "DROP TABLE IF EXISTS corpus_{name}_main, corpus_{name}_other"
        ))
        .await
        .expect("the corpus tables drop");
        conn.disconnect().await.expect("the connection closes");
    });
    Some(format!(
        r#"{{"host": "{}", "port": {}, "user": "{}", "password": "{}", "database": "{}", "table": "corpus_{name}_{{namespace}}"}}"#,
        opts.ip_or_hostname(),
        opts.tcp_port(),
        opts.user().unwrap_or("root"),
        opts.pass().unwrap_or(""),
        opts.db_name().unwrap_or("test"),
    ))
}

/// The kit's report on the corpus store behind `command`, at the corpus's case count and seed.
fn check_corpus(command: &[String]) -> StoreReport {
    let fixture =
        AdapterFixture::start(command, Duration::from_secs(10), true).expect("the adapter starts");
    let options = RunOptions {
        cases: 16,
        seed: 7,
        ..RunOptions::default()
    };
    check_store(&fixture, &options, &|_| {})
}

/// The report fails exactly `root_causes` (beside any of `races`: the rules of calls made at
/// once, which a race fails in some runs only, and whose checks stand on each other), each once as a root cause leading the report, every blocked
/// rule is blocked by one of them, and every format of it stays under 100 KB.
fn assert_root_causes(report: StoreReport, root_causes: &[&str], races: &[&str]) {
    let failed: Vec<&str> = report
        .rules
        .iter()
        .filter(|r| r.status == Status::Fail)
        .map(|r| r.id.as_str())
        .filter(|r| !races.contains(r))
        .collect();
    assert_eq!(failed, root_causes, "{:#?}", report.rules);
    // Each root cause, and the failed rules folded into it for showing its likely cause.
    let causes: Vec<&str> = report
        .root_causes
        .iter()
        .flat_map(|c| std::iter::once(&c.rule).chain(&c.same_cause))
        .map(String::as_str)
        .collect();
    let known = |rule: &str| root_causes.contains(&rule) || races.contains(&rule);
    assert!(causes.len() >= root_causes.len());
    assert!(causes.iter().all(|c| known(c)), "{causes:?}");
    for blocked in report.rules.iter().filter(|r| r.status == Status::Blocked) {
        let by = blocked.blocked_by.as_deref().unwrap_or_default();
        assert!(known(by), "{} blocked by {by}", blocked.id);
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

/// The rules a store that reads, changes and writes with no lock fails in some runs only: those
/// of calls made at once, and the kill that lands mid-write.
const RACES_AND_KILLS: &[&str] = &[
    "concurrency.distinct-users",
    "concurrency.same-user",
    "concurrency.reader-consistent",
    "concurrency.linearizable",
    "processes.linearizable",
    "crash.acknowledged-kept",
];

#[rstest]
#[case::article_sample("seed_sqlite:CustomStoreSQLite", &[
    "token.absent-empty",
    "save.refuse-tokenless",
    "save.user-name-unique",
    "save.unstored-id-conflict",
    "delete-tokens.empties",
    "store.reopens",
], &[])]
#[case::private_fields("private_fields:SQLiteTokenStore", &[
    "find-by-id.miss-not-found",
    "save.merge",
    "save.insert",
    "save.refuse-tokenless",
], &[])]
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
], &[])]
#[case::raw_rows("raw_rows:CountingStore", &[
    "token.absent-empty",
    "find-by-id.miss-not-found",
    "save.insert",
    "get-tokens.exact",
], &[])]
#[case::mixed_interface("mixed_interface:JsonTokenStore", &[
    "find.hit-fills-absent",
    "save.refuse-tokenless",
    "save.user-name-unique",
    "save.unstored-id-conflict",
    "delete.removes-exactly",
], RACES_AND_KILLS)]
fn corpus_store_fails_its_root_causes_and_nothing_else(
    #[case] class: &str,
    #[case] root_causes: &[&str],
    #[case] races: &[&str],
) {
    let Some(python) = python_with_sdk() else {
        return;
    };
    let report = check_corpus(&corpus_command(&python, class));
    assert!(report.resources.is_empty(), "{:?}", report.resources);
    // Their reads answer tokens: no failure is put down to reads that answer nothing.
    assert!(
        !report.root_causes.iter().any(tells_of_silent_reads),
        "{:#?}",
        report.root_causes
    );
    assert_root_causes(report, root_causes, races);
}

/// The words of the likely cause a run gives when none of its reads answered a token.
const SILENT_READS: &str = "reads (find_token, find_token_by_id, get_tokens) answered a token";

/// Whether `cause` gives the likely cause of a run none of whose reads answered a token.
fn tells_of_silent_reads(cause: &RootCause) -> bool {
    cause
        .likely_cause
        .as_deref()
        .is_some_and(|likely| likely.contains(SILENT_READS))
}

/// A store whose every read fails inside and is answered as nothing found, its saves all
/// stored: the first root cause shows the empty listing and says, once, that no read of the
/// whole run answered a token; the rest of its faults are their own root causes.
#[test]
fn corpus_store_whose_reads_all_fail_silently_is_told_so_on_its_first_root_cause() {
    let Some(python) = python_with_sdk() else {
        return;
    };
    let report = check_corpus(&corpus_command(&python, "silent_reads:AppTokenStore"));
    let first = &report.root_causes[0];
    assert_eq!(first.rule, "save.insert", "{:#?}", report.root_causes);
    assert!(
        first.message.contains("(it answered [])"),
        "{}",
        first.message
    );
    let likely = first.likely_cause.as_deref().unwrap_or_default();
    assert!(likely.contains(SILENT_READS), "{likely}");
    assert!(
        !report.root_causes[1..].iter().any(tells_of_silent_reads),
        "{:#?}",
        report.root_causes
    );
    assert_root_causes(
        report,
        &[
            "find-by-id.miss-not-found",
            "save.insert",
            "save.refuse-tokenless",
        ],
        &[],
    );
}

/// The Python corpus stores on a MySQL server.
#[rstest]
#[case::swallowed_errors("swallowed_mysql:MySQLTokenStore", "swallowed", &[
    "token.absent-empty",
    "find.exact-match",
    "find-by-id.miss-not-found",
    "save.fresh-id-unique",
    "save.refuse-tokenless",
    "save.user-name-unique",
    "save.unstored-id-conflict",
    "limits.declared",
], RACES_AND_KILLS)]
fn corpus_store_on_mysql_fails_its_root_causes_and_nothing_else(
    #[case] class: &str,
    #[case] table: &str,
    #[case] root_causes: &[&str],
    #[case] races: &[&str],
) {
    let (Some(python), Some(kwargs)) = (python_with_sdk(), on_mysql(table)) else {
        return;
    };
    let mut command = corpus_command(&python, class);
    command.extend(["--kwargs".into(), kwargs]);
    let report = check_corpus(&command);
    assert!(report.resources.is_empty(), "{:?}", report.resources);
    assert_root_causes(report, root_causes, races);
}

#[rstest]
#[case::resolves_early("early_resolve.mjs:JsonFileStore", &[
    "token.absent-empty",
    "save.fresh-id-unique",
    "save.refuse-tokenless",
    "save.user-name-unique",
    "save.unstored-id-conflict",
    "get-tokens.exact",
])]
fn node_corpus_store_fails_its_root_causes_and_nothing_else(
    #[case] store: &str,
    #[case] root_causes: &[&str],
) {
    if !node_with_sdks() {
        return;
    }
    let report = check_corpus(&node_corpus_command(
        store,
        r#"["{tmpdir}/{namespace}.json"]"#,
    ));
    assert!(report.resources.is_empty(), "{:?}", report.resources);
    assert_root_causes(report, root_causes, &[]);
}

/// A store that makes a connection pool per object and never ends it: the connections it keeps
/// are reported once under its resources, and the server's limit is never met by a rule's check.
#[test]
fn node_store_keeping_a_pool_per_object_is_a_resource_finding_not_a_rule_failure() {
    let Some(args) = node_with_sdks().then(|| on_mysql("pool")).flatten() else {
        return;
    };
    let report = check_corpus(&node_corpus_command(
        "pool_per_object.mjs:PooledMySqlStore",
        &args,
    ));
    assert_eq!(report.resources.len(), 1, "{:?}", report.resources);
    assert!(report.resources[0].contains("keeps its connections"));
    assert_root_causes(
        report,
        &[
            "token.absent-empty",
            "token.roundtrip",
            "find.exact-match",
            "find-by-id.miss-not-found",
            "save.fresh-id-unique",
            "save.refuse-tokenless",
            "save.user-name-unique",
            "save.unstored-id-conflict",
            "limits.declared",
        ],
        &[
            "concurrency.distinct-users",
            "concurrency.same-user",
            "concurrency.reader-consistent",
            "concurrency.linearizable",
            "processes.linearizable",
        ],
    );
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

#[test]
fn node_store_of_the_older_interface_is_refused_in_one_line_naming_it() {
    if !node_with_sdks() {
        return;
    }
    let refused = AdapterFixture::start(
        &node_corpus_command(
            "older_interface.mjs:JsonTokenStore",
            r#"["{tmpdir}/t.json"]"#,
        ),
        Duration::from_secs(10),
        true,
    );
    let Err(message) = refused else {
        panic!("a store of the older interface started");
    };
    assert!(!message.contains('\n'), "{message}");
    assert!(message.contains("older TokenStore interface"), "{message}");
    assert!(message.contains("getTokenById(id, token)"), "{message}");
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
