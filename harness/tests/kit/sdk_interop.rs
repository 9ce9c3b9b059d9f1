//! The kit's `file` and `mysql` backends share storage with the official Python SDK's FileStore
//! and DBStore: a token one saves, the other finds, both ways. Needs the SDK in the Python named
//! by TOKENSTORE_PYTHON (ci/test.sh makes a virtual environment) and, for the DBStore, a MySQL
//! URL; without them the tests say so and pass, unless TOKENSTORE_REQUIRE names `sdk`.
//!
//! With the Node.js SDK, the `mysql` backend shares the official Node DBStore's table too; the
//! Node FileStore writes another CSV dialect, and reading the `file` backend's file alters what
//! it reads, so the two must not share a file (the README says so; the tests hold both). The
//! Node stores are driven through the Node adapter's protocol; without node and its packages the
//! tests say so and pass, unless TOKENSTORE_REQUIRE names `node`.

use crate::support::mysql_url;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use tokenstore_core::{Token, TokenStore};
use tokenstore_file::FileStore;
use tokenstore_mysql::MysqlStore;
use tokenstore_suite::required;

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
    let Some(url) = mysql_url() else { return };
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

use crate::support::node_controls;

/// An official Node or TypeScript store behind the Node adapter, driven request by request.
struct NodeStore {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    seq: u64,
}

impl NodeStore {
    /// `store` (a package specifier and export), built with `args`, opened as configured (no
    /// reset: the storage is what the test made).
    fn open(store: &str, args: &Value) -> NodeStore {
        let command = node_controls::node_command(store, &args.to_string(), &[]);
        let mut child = Command::new(&command[0])
            .args(&command[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node runs");
        let mut store = NodeStore {
            stdin: child.stdin.take().unwrap(),
            stdout: BufReader::new(child.stdout.take().unwrap()),
            child,
            seq: 0,
        };
        store.call("hello", json!({"protocol": 1}));
        store.call("reopen", json!({"namespace": "main"}));
        store
    }

    fn call(&mut self, op: &str, mut request: Value) -> Value {
        self.seq += 1;
        request["seq"] = json!(self.seq);
        request["op"] = json!(op);
        request["store"] = json!(1);
        writeln!(self.stdin, "{request}").unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let answer: Value = serde_json::from_str(&line).expect("a response line");
        assert!(answer.get("error").is_none(), "{op}: {answer}");
        answer["ok"].clone()
    }

    fn find(&mut self, probe: &Value) -> Value {
        self.call("find_token", json!({"token": probe}))["found"].clone()
    }

    fn save(&mut self, token: &Value) -> Value {
        self.call("save_token", json!({"token": token}))["caller"].clone()
    }
}

impl Drop for NodeStore {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const NODE_STORES: &str = "@zohocrm/nodejs-sdk-8.0/lib/models/authenticator/store";

#[test]
fn official_node_db_store_and_mysql_backend_share_one_table() {
    if !node_controls::node_with_sdks() {
        return;
    }
    let Some(url) = mysql_url() else { return };
    let table = format!("ts_node_interop_{}", std::process::id());
    let rt = runtime();
    let rust = rt.block_on(MysqlStore::open(&url, &table)).unwrap();
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let mut node = NodeStore::open(
        &format!("{NODE_STORES}/db_store.js:DBStore"),
        &json!([
            env("TOKENSTORE_SDK_MYSQL_HOST", "127.0.0.1"),
            env("TOKENSTORE_SDK_MYSQL_DATABASE", "test"),
            table,
            env("TOKENSTORE_SDK_MYSQL_USER", "root"),
            env("TOKENSTORE_SDK_MYSQL_PASSWORD", ""),
            env("TOKENSTORE_SDK_MYSQL_PORT", "3306"),
        ]),
    );

    // Rust writes, the Node DBStore finds.
    let mut alice = logged_in("alice@example.com");
    rt.block_on(rust.save_token(&mut alice)).unwrap();
    let found = node.find(&json!({"user_name": "alice@example.com"}));
    assert_eq!(from_json(&found), alice);

    // The Node DBStore inserts, Rust finds (the DBStore writes no id back: Rust reads it).
    let bob = logged_in("bob@example.com");
    node.save(&to_json(&bob));
    let probe = Token {
        user_name: Some("bob@example.com".into()),
        ..Token::default()
    };
    let got = rt
        .block_on(rust.find_token(&probe))
        .unwrap()
        .expect("Rust finds the Node DBStore's token");
    assert_ne!(
        got.id, alice.id,
        "the Node DBStore's new id must not collide"
    );
    assert_eq!(
        got,
        Token {
            id: got.id.clone(),
            ..bob
        }
    );

    // An update from Rust is what the Node DBStore reads next.
    let mut refresh = Token {
        user_name: Some("bob@example.com".into()),
        access_token: Some("1000.access.2".into()),
        ..Token::default()
    };
    rt.block_on(rust.save_token(&mut refresh)).unwrap();
    let found = node.find(&json!({"user_name": "bob@example.com"}));
    assert_eq!(found["access_token"], "1000.access.2");
    assert_eq!(found["refresh_token"], "1000.refresh.bob@example.com");
    drop(node);
    rt.block_on(rust.drop_tables()).unwrap();
}

/// What the README claims: the Node FileStore cannot share the `file` backend's file. It reads
/// the CRLF line ends of the Python FileStore's dialect into its last column, splits quoted
/// values, and writes a header of its own, with no quoting and no line end.
#[test]
fn official_node_file_store_must_not_share_the_file_backends_file() {
    if !node_controls::node_with_sdks() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.csv");
    let rt = runtime();
    let rust = FileStore::open(&path).unwrap();
    let mut alice = Token {
        user_name: Some("alice".into()),
        refresh_token: Some("1000.refresh.alice".into()),
        api_domain: Some("https://www.zohoapis.com".into()),
        ..Token::default()
    };
    rt.block_on(rust.save_token(&mut alice)).unwrap();
    let mut bob = logged_in("bob");
    rt.block_on(rust.save_token(&mut bob)).unwrap();

    let mut node = NodeStore::open(
        &format!("{NODE_STORES}/file_store.js:FileStore"),
        &json!([path.to_str().unwrap()]),
    );
    // The line end read into the last column.
    let found = node.find(&json!({"user_name": "alice"}));
    assert_eq!(found["api_domain"], "https://www.zohoapis.com\r", "{found}");
    // A quoted comma splits a value, and every later column shifts.
    let found = node.find(&json!({"user_name": "bob"}));
    assert_ne!(
        from_json(&found),
        bob,
        "the Node FileStore now reads quoted values: update the README"
    );
    assert_eq!(found["client_id"], "\"1000.CLIENT", "{found}");

    let theirs = dir.path().join("theirs.csv");
    let mut node = NodeStore::open(
        &format!("{NODE_STORES}/file_store.js:FileStore"),
        &json!([theirs.to_str().unwrap()]),
    );
    node.save(&json!({"user_name": "carol", "refresh_token": "r,1"}));
    let written = std::fs::read_to_string(&theirs).unwrap();
    assert!(
        written.starts_with("id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url,api_domain\n"),
        "{written:?}"
    );
    assert!(
        !written.ends_with('\n') && written.contains(",r,1,"),
        "{written:?}"
    );
}
