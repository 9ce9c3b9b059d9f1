//! The embedded backends pass every rule they declare the capabilities for, and the suite! macro
//! works for a store defined outside the harness, as a third party would use it.

use rstest::rstest;
use std::sync::Arc;
use tokenstore_check::builtin;
use tokenstore_core::TokenStore;
use tokenstore_suite::{check_store, Capabilities, DirFixture, RunOptions, Status, StoreFixture};

#[rstest]
fn embedded_backend_passes_every_rule(
    #[values("memory", "list", "sqlite", "sqlite-memory", "file")] backend: &str,
) {
    let program = std::path::PathBuf::from(env!("CARGO_BIN_EXE_tokenstore-check"));
    let fixture = builtin::dir_fixture(backend, Some(program)).expect("an embedded backend");
    let options = RunOptions {
        cases: 48,
        seed: 11,
        ..RunOptions::default()
    };
    let report = check_store(&fixture, &options, &|_| {});
    let capabilities = fixture.capabilities();
    let wrong: Vec<_> = report
        .rules
        .iter()
        .filter(|r| r.status != expected_status(&r.id, capabilities))
        .map(|r| format!("{} {:?}: {:?} {:?}", r.id, r.status, r.message, r.repro))
        .collect();
    assert!(wrong.is_empty(), "{backend}: {wrong:#?}");
    let persists_locally = matches!(backend, "sqlite" | "file");
    assert_eq!(capabilities.processes, persists_locally, "{backend}");
    assert!(
        report.model.as_ref().is_some_and(|m| m.steps > 0),
        "the model-based test ran no step"
    );
}

/// Pass for every rule whose tier the store declares, skip for the others.
fn expected_status(rule: &str, capabilities: Capabilities) -> Status {
    match tokenstore_suite::rules::rule(rule).and_then(|r| r.requires) {
        Some(needed) if !capabilities.has(needed) => Status::Skip,
        _ => Status::Pass,
    }
}

#[test]
fn unknown_backend_has_no_fixture() {
    assert!(builtin::fixture("nosuch").is_none());
    for name in builtin::all_names() {
        assert!(builtin::fixture(name).is_some(), "{name}");
    }
}

tokenstore_suite::suite!(
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

tokenstore_suite::suite!(
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
    .with_limits(tokenstore_file::FILE_LIMITS)
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

/// The `file` backend keeps the table it parsed with the bytes it parsed it from: a file another
/// writer rewrote in place to the same length (what a cache keyed on the file's size and on a
/// modification time as coarse as the kernel's clock tick could miss) is read as rewritten.
#[test]
fn file_backend_reads_a_file_rewritten_in_place_to_the_same_length() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.csv");
    let store = tokenstore_file::FileStore::open(&path).unwrap();
    let mut t = tokenstore_core::Token {
        user_name: Some("u".into()),
        access_token: Some("aaaa".into()),
        ..Default::default()
    };
    rt.block_on(store.save_token(&mut t)).unwrap();
    let probe = tokenstore_core::Token {
        user_name: Some("u".into()),
        ..Default::default()
    };
    let access = |store: &tokenstore_file::FileStore| {
        let found = rt.block_on(store.find_token(&probe)).unwrap().unwrap();
        found.access_token.unwrap()
    };
    assert_eq!(access(&store), "aaaa");
    let before = std::fs::metadata(&path).unwrap();
    let rewritten = std::fs::read_to_string(&path)
        .unwrap()
        .replace("aaaa", "bbbb");
    std::fs::write(&path, rewritten).unwrap();
    let after = std::fs::metadata(&path).unwrap();
    assert_eq!(before.len(), after.len());
    assert_eq!(access(&store), "bbbb");
}
