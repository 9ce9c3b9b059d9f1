//! Crash consistency of the local persistent backends: a child process saves tokens one after
//! another and reports each acknowledged save; it is killed with SIGKILL at random moments, 200
//! times per backend. After every kill the store must open, hold every acknowledged token exactly
//! as saved, and nothing that was never written (the save in flight may land or not).
//!
//! The child is this test binary itself, started with TOKENSTORE_CRASH_WRITER set.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokenstore_core::{Token, TokenStore};

const KILLS: usize = 200;

fn open(backend: &str, path: &std::path::Path) -> Box<dyn TokenStore> {
    match backend {
        "file-in-place" => Box::new(InPlaceFile(path.join("tokens.csv"))),
        "file" => Box::new(
            tokenstore_file::FileStore::open(path.join("tokens.csv"))
                .expect("the file opens after a kill"),
        ),
        "sqlite" => Box::new(
            tokenstore_sqlite::SqliteStore::open(path.join("tokens.db"), "main")
                .expect("the database opens after a kill"),
        ),
        other => panic!("no crash test for {other}"),
    }
}

fn token(n: u64) -> Token {
    Token {
        user_name: Some(format!("user-{n}")),
        refresh_token: Some(format!("refresh-{n}")),
        access_token: Some(format!("access-{n}")),
        expiry_time: Some(n.to_string()),
        ..Token::default()
    }
}

/// The child: saves tokens from TOKENSTORE_CRASH_START on, printing each acknowledged one.
#[test]
fn crash_writer_child() {
    let Ok(spec) = std::env::var("TOKENSTORE_CRASH_WRITER") else {
        return;
    };
    let (backend, path) = spec.split_once(':').expect("BACKEND:PATH");
    let start: u64 = std::env::var("TOKENSTORE_CRASH_START")
        .unwrap()
        .parse()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let store = open(backend, std::path::Path::new(path));
    let mut out = std::io::stdout().lock();
    for n in start.. {
        rt.block_on(store.save_token(&mut token(n))).expect("save");
        writeln!(out, "ack {n}").unwrap();
        out.flush().unwrap();
    }
}

/// The negative control: the file format and the spec's decisions of the `file` backend, but each
/// change rewrites the file in place (truncate, then write), as the official FileStores do.
struct InPlaceFile(std::path::PathBuf);

#[async_trait::async_trait]
impl TokenStore for InPlaceFile {
    async fn find_token(&self, probe: &Token) -> tokenstore_core::Result<Option<Token>> {
        tokenstore_core::find_in(&self.table()?, probe, Default::default())
    }
    async fn save_token(&self, token: &mut Token) -> tokenstore_core::Result<()> {
        let mut table = self.table()?;
        tokenstore_core::save_into(&mut table, token, Default::default())?;
        let staged = self.0.with_extension("staged");
        tokenstore_file::csv_format::write_file(&staged, table.rows())?;
        std::fs::copy(&staged, &self.0)
            .map(drop)
            .map_err(|e| tokenstore_core::StoreError::backend("copy", e))
    }
    async fn delete_token(&self, _: &str) -> tokenstore_core::Result<()> {
        unreachable!("the crash test only saves")
    }
    async fn get_tokens(&self) -> tokenstore_core::Result<Vec<Token>> {
        tokenstore_core::TokenTable::all(&self.table()?)
    }
    async fn delete_tokens(&self) -> tokenstore_core::Result<()> {
        unreachable!("the crash test only saves")
    }
    async fn find_token_by_id(&self, id: &str) -> tokenstore_core::Result<Token> {
        tokenstore_core::find_by_id_in(&self.table()?, id)
    }
}

impl InPlaceFile {
    fn table(&self) -> tokenstore_core::Result<tokenstore_list::ListTable> {
        tokenstore_file::csv_format::read_file(&self.0).map(tokenstore_list::ListTable::from_rows)
    }
}

fn kill_and_check(backend: &str) {
    let report = kill_and_report(backend, 0);
    eprintln!("{report:?}");
    report.unwrap();
}

/// Kills the writer KILLS times (with `preload` tokens stored first); the first problem found,
/// or a summary of what survived.
fn kill_and_report(backend: &str, preload: u64) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut acked: BTreeSet<u64> = BTreeSet::new();
    {
        let store = open(backend, dir.path());
        for n in 0..preload {
            rt.block_on(store.save_token(&mut token(n))).unwrap();
            acked.insert(n);
        }
    }
    let mut next = preload;
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    for kill in 0..KILLS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "crash_writer_child",
                "--exact",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(
                "TOKENSTORE_CRASH_WRITER",
                format!("{backend}:{}", dir.path().display()),
            )
            .env("TOKENSTORE_CRASH_START", next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                // libtest prints the test's name before its first line: look for "ack N" anywhere.
                .filter_map(|l| {
                    l.rfind("ack ")
                        .and_then(|i| l[i + 4..].trim().parse::<u64>().ok())
                })
                .collect::<Vec<_>>()
        });
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(20 + rng % 60));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let new_acks = reader.join().unwrap();
        acked.extend(&new_acks);
        // The save in flight when the kill came may have landed: it is `in_flight`.
        let in_flight = new_acks.last().map_or(next, |n| n + 1);
        let stored = rt
            .block_on(open(backend, dir.path()).get_tokens())
            .map_err(|e| format!("after kill {kill}, {backend} cannot be read: {e}"))?;
        let mut seen = BTreeSet::new();
        for t in &stored {
            let n: u64 = t
                .expiry_time
                .as_deref()
                .and_then(|e| e.parse().ok())
                .unwrap_or(u64::MAX);
            let mut want = token(n);
            want.id = t.id.clone();
            if t != &want || n > in_flight {
                return Err(format!(
                    "after kill {kill}, {backend} holds a token never saved whole: {t:?}"
                ));
            }
            seen.insert(n);
        }
        let lost: Vec<_> = acked.difference(&seen).collect();
        if !lost.is_empty() {
            return Err(format!(
                "after kill {kill}, {backend} lost {} acknowledged tokens",
                lost.len()
            ));
        }
        next = in_flight + 1;
    }
    Ok(format!(
        "{backend}: {KILLS} kills survived, {} acknowledged tokens, 0 lost",
        acked.len()
    ))
}

#[test]
fn file_backend_survives_sigkill() {
    if std::env::var("TOKENSTORE_CRASH_WRITER").is_ok() {
        return;
    }
    kill_and_check("file");
}

#[test]
fn in_place_file_writes_are_caught() {
    if std::env::var("TOKENSTORE_CRASH_WRITER").is_ok() {
        return;
    }
    // A big file makes the window between truncate and write wide enough to hit.
    let report = kill_and_report("file-in-place", 3000);
    eprintln!("{report:?}");
    assert!(
        report.is_err(),
        "a store that rewrites its file in place survived {KILLS} kills: {report:?}"
    );
}

#[test]
fn sqlite_backend_survives_sigkill() {
    if std::env::var("TOKENSTORE_CRASH_WRITER").is_ok() {
        return;
    }
    kill_and_check("sqlite");
}
