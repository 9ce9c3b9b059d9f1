//! The kit's `file` and `mysql` backends share storage with the official Python SDK's FileStore
//! and DBStore: a token one saves, the other finds, both ways. Needs the SDK in the Python named
//! by TOKENSTORE_PYTHON (ci/test.sh makes a virtual environment) and, for the DBStore, a MySQL
//! URL; without them the tests say so and pass, unless TOKENSTORE_REQUIRE names `sdk`.

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use tokenstore_core::{Token, TokenStore};
use tokenstore_file::FileStore;
use tokenstore_harness::servers::required;
use tokenstore_mysql::MysqlStore;

fn python() -> Option<String> {
    match std::env::var("TOKENSTORE_PYTHON") {
        Ok(p) => Some(p),
        Err(_) if required("sdk") => {
            panic!("TOKENSTORE_REQUIRE names sdk, but TOKENSTORE_PYTHON is not set")
        }
        Err(_) => {
            eprintln!("skipped: set TOKENSTORE_PYTHON to a Python with zohocrmsdk8-0 and mysql-connector-python");
            None
        }
    }
}

/// Runs the official store's method through `tests/sdk/official_store.py`; returns its JSON.
fn official(python: &str, kind: &str, location: &str, method: &str, token: &Value) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/official_store.py");
    let out = Command::new(python)
        .arg(script)
        .args([kind, location, method, &token.to_string()])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "official {kind} store {method}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the script prints JSON")
}

fn to_json(t: &Token) -> Value {
    serde_json::to_value(t).unwrap()
}

fn from_json(v: &Value) -> Token {
    serde_json::from_value::<Token>(v.clone())
        .unwrap()
        .normalized()
}

/// A token as the SDK saves it after a first login, with values CSV and SQL must quote.
fn logged_in(user: &str) -> Token {
    Token {
        user_name: Some(user.into()),
        client_id: Some("1000.CLIENT,ID".into()),
        client_secret: Some("secret \"quoted\"".into()),
        refresh_token: Some(format!("1000.refresh.{user}")),
        access_token: Some(format!("1000.access.{user}")),
        grant_token: Some(format!("1000.grant.{user}")),
        expiry_time: Some("1700000003600000".into()),
        redirect_url: Some("https://app.example/callback?a=1,b=2".into()),
        api_domain: Some("https://www.zohoapis.com".into()),
        ..Token::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

#[test]
fn official_file_store_and_file_backend_share_one_file() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.csv");
    let location = path.to_str().unwrap();
    let rt = runtime();
    let rust = FileStore::open(&path).unwrap();

    // Rust writes, the FileStore finds.
    let mut alice = logged_in("alice@example.com");
    rt.block_on(rust.save_token(&mut alice)).unwrap();
    let found = official(
        &python,
        "file",
        location,
        "find",
        &json!({"user_name": "alice@example.com"}),
    );
    assert_eq!(from_json(&found), alice);

    // The FileStore writes, Rust finds, in the same file.
    let bob = logged_in("bob@example.com");
    let saved = from_json(&official(&python, "file", location, "save", &to_json(&bob)));
    let probe = Token {
        user_name: Some("bob@example.com".into()),
        ..Token::default()
    };
    let got = rt
        .block_on(rust.find_token(&probe))
        .unwrap()
        .expect("Rust finds the FileStore's token");
    assert_eq!(
        got,
        Token {
            id: saved.id.clone(),
            ..bob.clone()
        }
    );

    // An update from Rust is what the FileStore reads next.
    let mut refresh = Token {
        user_name: Some("bob@example.com".into()),
        access_token: Some("1000.access.2".into()),
        ..Token::default()
    };
    rt.block_on(rust.save_token(&mut refresh)).unwrap();
    assert_eq!(refresh.id, saved.id);
    let found = official(
        &python,
        "file",
        location,
        "find",
        &json!({"user_name": "bob@example.com"}),
    );
    assert_eq!(found["access_token"], "1000.access.2");
    assert_eq!(found["refresh_token"], "1000.refresh.bob@example.com");
    assert_eq!(rt.block_on(rust.get_tokens()).unwrap().len(), 2);
}

#[test]
fn file_backend_writes_the_header_the_file_store_writes() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let theirs = dir.path().join("theirs.csv");
    official(
        &python,
        "file",
        theirs.to_str().unwrap(),
        "find",
        &json!({"user_name": "nobody"}),
    );
    let ours = dir.path().join("ours.csv");
    let rt = runtime();
    let rust = FileStore::open(&ours).unwrap();
    rt.block_on(rust.save_token(&mut logged_in("carol")))
        .unwrap();
    let their_header = std::fs::read(&theirs).unwrap();
    let our_file = std::fs::read(&ours).unwrap();
    assert!(
        our_file.starts_with(&their_header),
        "{:?} vs {:?}",
        String::from_utf8_lossy(&their_header),
        String::from_utf8_lossy(&our_file)
    );
}

#[test]
fn official_db_store_and_mysql_backend_share_one_table() {
    let Some(python) = python() else { return };
    let Ok(url) = std::env::var("TOKENSTORE_MYSQL_URL") else {
        assert!(
            !required("mysql"),
            "TOKENSTORE_REQUIRE names mysql, but TOKENSTORE_MYSQL_URL is not set"
        );
        eprintln!("skipped: TOKENSTORE_MYSQL_URL is not set");
        return;
    };
    let table = format!("ts_interop_{}", std::process::id());
    let rt = runtime();
    let rust = rt.block_on(MysqlStore::open(&url, &table)).unwrap();

    let mut alice = logged_in("alice@example.com");
    rt.block_on(rust.save_token(&mut alice)).unwrap();
    let found = official(
        &python,
        "db",
        &table,
        "find",
        &json!({"user_name": "alice@example.com"}),
    );
    assert_eq!(from_json(&found), alice);

    let bob = logged_in("bob@example.com");
    let saved = from_json(&official(&python, "db", &table, "save", &to_json(&bob)));
    let probe = Token {
        user_name: Some("bob@example.com".into()),
        ..Token::default()
    };
    let got = rt
        .block_on(rust.find_token(&probe))
        .unwrap()
        .expect("Rust finds the DBStore's token");
    assert_eq!(
        got,
        Token {
            id: saved.id.clone(),
            ..bob
        }
    );
    assert_ne!(
        saved.id, alice.id,
        "the DBStore's new id must not collide with the Rust one"
    );

    // Rust's next fresh id skips the one the DBStore chose.
    let mut carol = logged_in("carol@example.com");
    rt.block_on(rust.save_token(&mut carol)).unwrap();
    assert_ne!(carol.id, saved.id);
    let found = official(
        &python,
        "db",
        &table,
        "find",
        &json!({"user_name": "carol@example.com"}),
    );
    assert_eq!(from_json(&found), carol);
    rt.block_on(rust.drop_tables()).unwrap();
}
