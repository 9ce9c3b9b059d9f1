//! How the SQL server backends wait, and for what. They never hang a call: opening a store on a
//! server that accepts and never answers, and a call waiting on a lock nobody releases, fail with
//! a Backend error naming the store's timeout, and the store works again once the server answers
//! (`tokenstore_sql::within`). And a save waits only for saves that share one of its values: a
//! save stuck behind one user's row holds nothing another user's save needs
//! (`tokenstore_sql::lock_keys`, the in-place save). A call that fails half way through a
//! transaction leaves no connection inside it.
//!
//! The lock tests need MariaDB or MySQL (`TOKENSTORE_MYSQL_URL`) and PostgreSQL
//! (`TOKENSTORE_POSTGRES_URL`); without one the test says so and passes, unless
//! TOKENSTORE_REQUIRE names it.

use mysql_async::prelude::Queryable;
use rstest::rstest;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use tokenstore_core::{Field, StoreError, Token, TokenStore};
use tokenstore_mysql::MysqlStore;
use tokenstore_postgres::PostgresStore;
use tokenstore_suite::required;

const TIMEOUT: Duration = Duration::from_millis(1500);

/// A store on `backend`'s table `table` whose calls wait at most `timeout` for the server.
async fn open(
    backend: &str,
    url: &str,
    table: &str,
    timeout: Duration,
) -> Result<Arc<dyn TokenStore>, StoreError> {
    Ok(match backend {
        "mysql" => Arc::new(MysqlStore::open_with_timeout(url, table, timeout).await?),
        _ => Arc::new(PostgresStore::open_with_timeout(url, table, timeout).await?),
    })
}

/// Checks that `call` fails with the store's timeout; a call still waiting after 20 s has no
/// timeout at all, and fails the test instead of hanging it.
async fn timed_out<T: std::fmt::Debug>(
    call: impl std::future::Future<Output = Result<T, StoreError>>,
    backend: &str,
) {
    let answer = tokio::time::timeout(Duration::from_secs(20), call)
        .await
        .unwrap_or_else(|_| panic!("{backend}: the call still waits after 20 s: no timeout"));
    match answer {
        Err(StoreError::Backend { message, .. }) => assert!(
            message.starts_with(backend) && message.contains("did not answer within 1.5 s"),
            "{message}"
        ),
        other => panic!("{backend}: want a Backend error naming the timeout, got {other:?}"),
    }
}

#[rstest]
#[tokio::test]
async fn opening_a_store_on_a_silent_server_fails_within_its_timeout(
    #[values("mysql", "postgres")] backend: &str,
) {
    // Accepts every connection and never writes a byte: the server's greeting never comes.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let kept: Vec<_> = silent.incoming().take(4).collect();
        std::thread::sleep(Duration::from_secs(5));
        drop(kept);
    });
    let url = match backend {
        "mysql" => format!("mysql://root@127.0.0.1:{port}/test"),
        _ => format!("postgres://postgres@127.0.0.1:{port}/test"),
    };
    timed_out(
        async { open(backend, &url, "silent", TIMEOUT).await.map(drop) },
        backend,
    )
    .await;
    drop(held);
}

/// The server's URL, or `None` (and a printed line) when the test is to be skipped.
fn server_url(backend: &str) -> Option<String> {
    let variable = format!("TOKENSTORE_{}_URL", backend.to_uppercase());
    let url = std::env::var(&variable).ok();
    if url.is_none() {
        assert!(
            !required(backend),
            "TOKENSTORE_REQUIRE names {backend}, but {variable} is not set"
        );
        eprintln!("skipped: {variable} is not set");
    }
    url
}

/// An administrator's session, open (holding what its statements took, such as a table's
/// lock) until it is dropped.
type Session = Box<dyn std::any::Any + Send>;

/// A new administrator's session on `backend`'s server at `url`, after running `sql` there.
async fn session(backend: &str, url: &str, sql: &str) -> Session {
    if backend == "mysql" {
        let mut conn = mysql_async::Conn::from_url(url).await.unwrap();
        conn.query_drop(sql).await.unwrap();
        Box::new(conn)
    } else {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client.batch_execute(sql).await.unwrap();
        Box::new(client)
    }
}

async fn lock_table(backend: &str, url: &str, table: &str) -> Session {
    let lock = match backend {
        "mysql" => format!("LOCK TABLES {table} WRITE"),
        _ => format!("BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"),
    };
    session(backend, url, &lock).await
}

async fn drop_table(backend: &str, url: &str, table: &str) {
    let drop_it = match backend {
        "mysql" => format!("DROP TABLE IF EXISTS {table}, {table}_ids, {table}_locks"),
        _ => format!("DROP TABLE IF EXISTS {table}; DROP SEQUENCE IF EXISTS {table}_ids"),
    };
    drop(session(backend, url, &drop_it).await);
}

/// A store on a fresh table `table` of `backend`'s server, with [`TIMEOUT`], holding alice's
/// token.
async fn with_alice(backend: &str, url: &str, table: &str) -> Arc<dyn TokenStore> {
    drop_table(backend, url, table).await;
    let store = open(backend, url, table, TIMEOUT).await.unwrap();
    let mut token = Token::default();
    token.set(Field::UserName, Some("alice".into()));
    token.set(Field::RefreshToken, Some("r-alice".into()));
    store.save_token(&mut token).await.unwrap();
    store
}

#[rstest]
#[tokio::test]
async fn a_call_waiting_on_a_lock_nobody_releases_fails_within_its_timeout(
    #[values("mysql", "postgres")] backend: &str,
) {
    let Some(url) = server_url(backend) else {
        return;
    };
    let table = format!("timeout_{}", std::process::id());
    let store = with_alice(backend, &url, &table).await;

    let lock = lock_table(backend, &url, &table).await;
    timed_out(store.get_tokens(), backend).await;
    let mut blocked = Token::default();
    blocked.set(Field::UserName, Some("bob".into()));
    blocked.set(Field::RefreshToken, Some("r-bob".into()));
    timed_out(store.save_token(&mut blocked), backend).await;
    drop(lock);

    // Once the lock is gone the same store answers again.
    let mut stored = None;
    for _ in 0..20 {
        match store.get_tokens().await {
            Ok(tokens) => {
                stored = Some(tokens);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let stored = stored.expect("the store answers again after the lock is released");
    assert!(
        stored
            .iter()
            .any(|t| t.get(Field::UserName) == Some("alice")),
        "{stored:?}"
    );
    drop_table(backend, &url, &table).await;
}

/// An emptying that fails half way (its table gone from under it, renamed by an administrator)
/// leaves no connection of the store inside the transaction it began: once the table is back,
/// every call answers. PostgreSQL runs `BEGIN; LOCK TABLE ..; DELETE ..; COMMIT` sent as one
/// string up to its first error and skips the rest, `COMMIT` included, so a store that sent it
/// must end the transaction itself before the connection serves another call.
#[rstest]
#[tokio::test]
async fn an_emptying_that_fails_half_way_leaves_every_connection_usable(
    #[values("mysql", "postgres")] backend: &str,
) {
    let Some(url) = server_url(backend) else {
        return;
    };
    let table = format!("halfway_{}", std::process::id());
    let store = with_alice(backend, &url, &table).await;
    let rename = |from: &str, to: &str| match backend {
        "mysql" => format!("RENAME TABLE {from} TO {to}"),
        _ => format!("ALTER TABLE {from} RENAME TO {to}"),
    };
    let aside = format!("{table}_aside");
    drop(session(backend, &url, &rename(&table, &aside)).await);
    assert!(store.delete_tokens().await.is_err());
    drop(session(backend, &url, &rename(&aside, &table)).await);
    for k in 0..8 {
        let mut other = Token::default();
        other.set(Field::UserName, Some(format!("user-{k}")));
        other.set(Field::RefreshToken, Some(format!("r-{k}")));
        store
            .save_token(&mut other)
            .await
            .unwrap_or_else(|e| panic!("{backend}: save {k} after the failed emptying: {e}"));
        let listed = store
            .get_tokens()
            .await
            .unwrap_or_else(|e| panic!("{backend}: listing {k} after the failed emptying: {e}"));
        assert_eq!(listed.len(), k + 2, "{backend}: {listed:?}");
    }
    drop_table(backend, &url, &table).await;
}

#[rstest]
#[tokio::test]
async fn a_save_waiting_on_one_users_row_holds_up_no_other_users_save(
    #[values("mysql", "postgres")] backend: &str,
) {
    let Some(url) = server_url(backend) else {
        return;
    };
    let table = format!("turns_{}", std::process::id());
    drop_table(backend, &url, &table).await;
    // Long enough that the waiting saves are still waiting when the others answer.
    let store = open(backend, &url, &table, Duration::from_secs(20))
        .await
        .unwrap();
    for user in ["alice", "bob"] {
        let mut t = Token::of(&[
            (Field::UserName, user),
            (Field::AccessToken, &format!("a-{user}")),
        ]);
        store.save_token(&mut t).await.unwrap();
    }
    let begin = match backend {
        "mysql" => "START TRANSACTION",
        _ => "BEGIN",
    };
    let held = session(
        backend,
        &url,
        &format!("{begin}; SELECT * FROM {table} WHERE user_name = 'alice' FOR UPDATE"),
    )
    .await;
    // Two saves of alice's token wait on her row: one in place (by user name), one in a
    // transaction holding its per-key locks (designated by her access token alone).
    let waiting: Vec<_> = [
        Token::of(&[(Field::UserName, "alice"), (Field::ExpiryTime, "1")]),
        Token::of(&[(Field::AccessToken, "a-alice"), (Field::ExpiryTime, "2")]),
    ]
    .into_iter()
    .map(|mut t| {
        let store = store.clone();
        tokio::spawn(async move { store.save_token(&mut t).await })
    })
    .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Bob's update and carol's insert answer while both of alice's saves still wait.
    let mut bob = Token::of(&[(Field::UserName, "bob"), (Field::ExpiryTime, "3")]);
    store.save_token(&mut bob).await.unwrap();
    let mut carol = Token::of(&[(Field::UserName, "carol"), (Field::RefreshToken, "r-carol")]);
    store.save_token(&mut carol).await.unwrap();
    assert!(
        waiting.iter().all(|w| !w.is_finished()),
        "{backend}: alice's saves should still wait on her row"
    );

    drop(held);
    for w in waiting {
        w.await.unwrap().unwrap();
    }
    let alice = store
        .find_token(&Token::of(&[(Field::UserName, "alice")]))
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(alice.get(Field::ExpiryTime), Some("1" | "2")),
        "{alice:?}"
    );
    assert_eq!(store.get_tokens().await.unwrap().len(), 3);
    drop_table(backend, &url, &table).await;
}
