//! A server restarted under a store: each test starts its own redis-server, PostgreSQL or
//! MariaDB on a free port with its data in a temporary directory (the backend's local recipe,
//! `tokenstore_backends::local`), opens the backend's store on
//! it, saves tokens, stops the server, and checks that a call then returns a Backend error in
//! bounded time (never hangs); then starts the server again on the same port and data, and
//! checks that the next call on the same store object works and the tokens are still there.
//! A missing server binary skips the test with a line, or fails it when TOKENSTORE_REQUIRE names
//! the backend.

use rstest::rstest;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokenstore_backends::local::LocalServer;
use tokenstore_core::{ErrorKind, Token, TokenStore};
use tokenstore_suite::required;

/// How long a call against a stopped server may take to fail.
const FAILURE_LIMIT: Duration = Duration::from_secs(30);

const TABLE: &str = "restart_tokens";

async fn open(backend: &str, url: &str) -> Arc<dyn TokenStore> {
    let server = tokenstore_backends::server(backend).expect("a server backend");
    let opened = server.open(url, TABLE).await;
    opened
        .unwrap_or_else(|e| panic!("{backend}: opening a store = Err({e})"))
        .into_store()
}

fn user(n: usize) -> Token {
    Token {
        user_name: Some(format!("user-{n}")),
        refresh_token: Some(format!("refresh-{n}")),
        access_token: Some(format!("access-{n}")),
        ..Token::default()
    }
}

fn sorted(mut tokens: Vec<Token>) -> Vec<Token> {
    tokens.sort_by(|a, b| a.id.cmp(&b.id));
    tokens
}

#[rstest]
fn store_fails_fast_while_the_server_is_down_and_works_after_it_restarts(
    #[values("mysql", "redis", "postgres")] backend: &str,
) {
    let server = tokenstore_backends::server(backend).unwrap();
    if let Some(binary) = LocalServer::missing_binary(server) {
        assert!(
            !required(backend),
            "{backend}: {binary} is missing, and TOKENSTORE_REQUIRE names {backend}"
        );
        eprintln!("{backend}: skipped: {binary} is missing");
        return;
    }
    let began = Instant::now();
    let mut private = LocalServer::start(server).unwrap_or_else(|e| panic!("{backend}: {e}"));
    let first_start = began.elapsed();

    let rt = tokenstore_suite::runner::runtime();
    let store = rt.block_on(open(backend, &private.url()));
    let mut saved = Vec::new();
    for n in 0..3 {
        let mut t = user(n);
        rt.block_on(store.save_token(&mut t))
            .unwrap_or_else(|e| panic!("{backend}: save_token = Err({e})"));
        saved.push(t);
    }
    let saved = sorted(saved);

    private.stop().unwrap_or_else(|e| panic!("{backend}: {e}"));
    let asked = Instant::now();
    let answer = rt
        .block_on(async { tokio::time::timeout(FAILURE_LIMIT, store.find_token(&user(0))).await });
    let failed_in = asked.elapsed();
    match answer {
        Err(_) => panic!(
            "{backend}: find_token with the server stopped did not answer within {} s",
            FAILURE_LIMIT.as_secs()
        ),
        Ok(Err(e)) if e.kind() == ErrorKind::Backend => {}
        Ok(other) => panic!(
            "{backend}: find_token with the server stopped = {other:?}, want a Backend error"
        ),
    }

    let restarting = Instant::now();
    private
        .restart()
        .unwrap_or_else(|e| panic!("{backend}: {e}"));
    let restart = restarting.elapsed();

    let after = rt.block_on(store.get_tokens()).unwrap_or_else(|e| {
        panic!("{backend}: get_tokens after the restart = Err({e}), want Ok from the same store")
    });
    assert_eq!(
        sorted(after),
        saved,
        "{backend}: the tokens saved before the restart"
    );
    let mut more = user(3);
    rt.block_on(store.save_token(&mut more))
        .unwrap_or_else(|e| panic!("{backend}: save_token after the restart = Err({e})"));
    println!(
        "{backend}: first start {:.1} s, failed call answered Backend in {} ms, restart {:.1} s, whole test {:.1} s",
        first_start.as_secs_f64(),
        failed_in.as_millis(),
        restart.as_secs_f64(),
        began.elapsed().as_secs_f64()
    );
}
