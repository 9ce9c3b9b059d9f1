//! Concurrent histories on the reference backends, with the figures the README quotes: how many
//! histories and calls the concurrency tier (tasks sharing one store) and the processes tier
//! (`tokenstore-check serve` processes on one storage) checked for linearizability. Server
//! backends need TOKENSTORE_<SERVER>_URL, as in `server_backends.rs`.

use rstest::rstest;
use std::path::PathBuf;
use tokenstore_backends::ServerFixture;
use tokenstore_check::builtin;
use tokenstore_suite::checks::histories::{PROCESS_HISTORIES, TASK_HISTORIES};
use tokenstore_suite::history::{explore, start_processes, stores_of, Explored};
use tokenstore_suite::required;
use tokenstore_suite::{profile, runner, StoreFixture, MAIN_NAMESPACE};

fn fixture(backend: &str) -> Option<Box<dyn StoreFixture>> {
    if let Some(server) = tokenstore_backends::server(backend) {
        if std::env::var(server.url_variable()).is_err() && !required(backend) {
            eprintln!("{backend}: skipped: {} is not set", server.url_variable());
            return None;
        }
        return Some(Box::new(ServerFixture::new(server)));
    }
    let program = PathBuf::from(env!("CARGO_BIN_EXE_tokenstore-check"));
    Some(Box::new(
        builtin::dir_fixture(backend, Some(program)).unwrap(),
    ))
}

fn report(backend: &str, tier: &str, explored: Explored) {
    eprintln!(
        "{backend}: {tier}: {} histories, {} calls checked, all linearizable",
        explored.histories, explored.calls
    );
    assert!(explored.histories >= 20 && explored.calls >= explored.histories * 2);
}

#[rstest]
fn histories_of_tasks_are_linearizable(
    #[values(
        "memory",
        "list",
        "sqlite",
        "sqlite-memory",
        "file",
        "mysql",
        "redis",
        "postgres"
    )]
    backend: &str,
) {
    let Some(fixture) = fixture(backend) else {
        return;
    };
    let rt = runner::runtime();
    let explored = rt.block_on(async {
        let choices = profile::detect(&*fixture).await.unwrap().choices;
        let storage = fixture.storage().await.unwrap();
        let store = storage.open(MAIN_NAMESPACE).await.unwrap();
        let explored = explore(vec![store], choices, TASK_HISTORIES).await;
        storage.remove().await.unwrap();
        explored
    });
    report(
        backend,
        "tasks",
        explored.unwrap_or_else(|why| panic!("{why}")),
    );
}

#[rstest]
fn histories_of_processes_are_linearizable(#[values("sqlite", "file")] backend: &str) {
    let fixture = fixture(backend).unwrap();
    let rt = runner::runtime();
    let explored = rt.block_on(async {
        let choices = profile::detect(&*fixture).await.unwrap().choices;
        let storage = fixture.storage().await.unwrap();
        let processes = start_processes(&*storage, PROCESS_HISTORIES.clients)
            .await
            .unwrap();
        explore(stores_of(&processes), choices, PROCESS_HISTORIES).await
    });
    report(
        backend,
        "processes",
        explored.unwrap_or_else(|why| panic!("{why}")),
    );
}
