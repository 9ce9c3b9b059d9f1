//! Crash consistency, [`kills`] each: a process writing to the `file` or `sqlite` backend (served
//! by `tokenstore-check serve`) or to the Python positive control (behind the adapter) is killed
//! with SIGKILL at random moments; after every kill the storage must open and hold every
//! acknowledged write, and nothing never written. The negative control, a Python store that
//! rewrites its file in place, is in `adapter.rs` (rule crash.acknowledged-kept).

use crate::support::python_controls;

use rstest::rstest;
use std::path::PathBuf;
use std::time::Duration;
use tokenstore_check::builtin;
use tokenstore_suite::crash::{survive_kills, Survived};
use tokenstore_suite::{runner, StoreFixture};

/// Kills per store: 40 in the test command, enough to meet writes in flight many times over
/// (the negative control, in `adapter.rs`, fails at the tier's 20); the soak before a release
/// (`ci/soak.sh`) sets `TOKENSTORE_SOAK_KILLS=200`.
fn kills() -> usize {
    std::env::var("TOKENSTORE_SOAK_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40)
}

const MAX_DELAY: Duration = Duration::from_millis(30);

fn kill_repeatedly(fixture: &dyn StoreFixture, seed: u64) -> Survived {
    let rt = runner::runtime();
    let storage = rt.block_on(fixture.storage()).expect("storage");
    let kills = kills();
    let survived = rt
        .block_on(survive_kills(&*storage, kills, MAX_DELAY, seed))
        .unwrap_or_else(|why| panic!("{}: {why}", fixture.name()));
    eprintln!(
        "{}: {} kills survived, {} acknowledged writes checked, {} tokens lost",
        fixture.name(),
        survived.kills,
        survived.acknowledged,
        survived.lost
    );
    assert_eq!(survived.kills, kills);
    assert_eq!(survived.lost, 0);
    assert!(
        survived.acknowledged > kills,
        "the writers wrote too little: {survived:?}"
    );
    survived
}

#[rstest]
fn builtin_store_survives_kills(#[values("file", "sqlite")] backend: &str) {
    let program = PathBuf::from(env!("CARGO_BIN_EXE_tokenstore-check"));
    let fixture = builtin::dir_fixture(backend, Some(program)).unwrap();
    kill_repeatedly(&fixture, 2026);
}

#[test]
fn python_control_survives_kills() {
    let Some(python) = python_controls::python_with_sdk() else {
        return;
    };
    let fixture = python_controls::control(&python, "sqlite_store:SqliteTokenStore");
    assert!(fixture.capabilities().processes);
    kill_repeatedly(&fixture, 2027);
}
