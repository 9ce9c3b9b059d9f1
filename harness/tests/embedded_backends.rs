//! The embedded backends pass every rule they declare the capabilities for, and the suite! macro
//! works for a store defined outside the harness, as a third party would use it.

use rstest::rstest;
use std::sync::Arc;
use tokenstore_core::TokenStore;
use tokenstore_harness::{builtin, check_store, Capabilities, DirFixture, RunOptions, Status};

#[rstest]
fn embedded_backend_passes_every_rule(
    #[values("memory", "list", "sqlite", "sqlite-memory", "file")] backend: &str,
) {
    let fixture = builtin::fixture(backend).expect("an embedded backend");
    let options = RunOptions {
        cases: 48,
        seed: 11,
        ..RunOptions::default()
    };
    let report = check_store(fixture.as_ref(), &options, &|_| {});
    let failed: Vec<_> = report
        .rules
        .iter()
        .filter(|r| r.status == Status::Fail)
        .map(|r| format!("{}: {:?} {:?}", r.id, r.message, r.repro))
        .collect();
    assert!(failed.is_empty(), "{backend} fails: {failed:#?}");
    let persistent = fixture.capabilities().persistent;
    let durable = report.rule("store.durable").unwrap().status;
    assert_eq!(
        durable,
        if persistent {
            Status::Pass
        } else {
            Status::Skip
        }
    );
    assert!(
        report.model.as_ref().is_some_and(|m| m.steps > 0),
        "the model-based test ran no step"
    );
}

#[test]
fn unknown_backend_has_no_fixture() {
    assert!(builtin::fixture("nosuch").is_none());
    for name in builtin::all_names() {
        assert!(builtin::fixture(name).is_some(), "{name}");
    }
}

tokenstore_harness::suite!(
    memory_through_the_macro,
    DirFixture::new(
        "memory",
        Capabilities {
            persistent: false,
            namespaces: true,
            concurrent: true,
            ..Capabilities::default()
        },
        |_, _| Ok(Arc::new(tokenstore_memory::memory_store()) as Arc<dyn TokenStore>),
    )
);

tokenstore_harness::suite!(
    file_through_the_macro,
    DirFixture::new(
        "file",
        Capabilities {
            persistent: true,
            namespaces: true,
            concurrent: true,
            ..Capabilities::default()
        },
        |dir, namespace| {
            let store = tokenstore_file::FileStore::open(dir.join(format!("{namespace}.csv")))?;
            Ok(Arc::new(store) as Arc<dyn TokenStore>)
        },
    )
);

#[cfg(unix)]
#[test]
fn files_the_local_backends_create_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = tokenstore_file::FileStore::open(dir.path().join("tokens.csv")).unwrap();
    let sqlite =
        tokenstore_sqlite::SqliteStore::open(dir.path().join("tokens.db"), "main").unwrap();
    for store in [&file as &dyn TokenStore, &sqlite] {
        let mut t = tokenstore_core::Token {
            user_name: Some("u".into()),
            refresh_token: Some("r".into()),
            ..Default::default()
        };
        rt.block_on(store.save_token(&mut t)).unwrap();
    }
    let mut seen = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} has mode {mode:o}", entry.path().display());
        seen += 1;
    }
    assert!(seen >= 2, "the token files exist");
}
