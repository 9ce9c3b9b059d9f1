//! Lookups on one server run on connections of their own, set up as the store's multiplexed
//! connection is: on the URL's database (`SELECT`), named with the store's label (so that
//! killing the store's connections by name reaches them), at most 32 of them however many
//! lookups run at once, and never handed to a later lookup
//! while an earlier one's reply is still due (a lookup cancelled half-way drops its connection).
//!
//! Needs a Redis server: `TOKENSTORE_REDIS_URL`, else `redis://127.0.0.1:6379`. Without one the
//! tests say so on stderr and pass, unless `TOKENSTORE_REQUIRE` names `redis`.

use std::time::Duration;
use tokenstore_core::{Field, Token, TokenStore};
use tokenstore_redis::RedisStore;

fn url() -> String {
    std::env::var("TOKENSTORE_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A store on database `db` of the test server, with `count` tokens of user names `u0`, `u1`...
async fn store(db: u8, name: &str, count: usize) -> Option<RedisStore> {
    let url = format!("{}/{db}", url().trim_end_matches('/'));
    let namespace = format!("{name}{}", std::process::id());
    let store = tokenstore_suite::or_skip("redis", &url, RedisStore::open(&url, &namespace).await)?;
    store.delete_tokens().await.unwrap();
    for k in 0..count {
        let mut t = Token::default()
            .with(Field::UserName, format!("u{k}"))
            .with(Field::AccessToken, format!("a{k}"));
        store.save_token(&mut t).await.unwrap();
    }
    Some(store)
}

fn by_user(k: usize) -> Token {
    Token::default().with(Field::UserName, format!("u{k}"))
}

/// The connections the server lists under `label`, and the databases they use.
async fn named(label: &str) -> Vec<String> {
    let client = redis::Client::open(url()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut admin)
        .await
        .unwrap();
    list.lines()
        .filter(|line| line.split(' ').any(|f| f == format!("name={label}")))
        .filter_map(|line| line.split(' ').find(|f| f.starts_with("db=")))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn concurrent_lookups_run_on_at_most_32_named_connections_of_the_urls_database() {
    let Some(store) = store(3, "readers", 8).await else {
        return;
    };
    let store = std::sync::Arc::new(store);
    let lookups: Vec<_> = (0..64)
        .map(|task| {
            let k = task % 8;
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..20 {
                    let found = store.find_token(&by_user(k)).await.unwrap().unwrap();
                    assert_eq!(found.user_name.as_deref(), Some(format!("u{k}").as_str()));
                    let id = found.id.unwrap();
                    let again = store.find_token_by_id(&id).await.unwrap();
                    assert_eq!(
                        again.access_token.as_deref(),
                        Some(format!("a{k}").as_str())
                    );
                }
            })
        })
        .collect();
    for lookup in lookups {
        lookup.await.unwrap();
    }
    let dbs = named(store.connection_label()).await;
    assert!(
        (2..=33).contains(&dbs.len()),
        "the multiplexed connection and 1 to 32 readers, all named: {dbs:?}"
    );
    assert!(dbs.iter().all(|db| db == "db=3"), "{dbs:?}");
    store.delete_tokens().await.unwrap();
}

#[tokio::test]
async fn a_lookup_cancelled_half_way_leaves_no_reply_for_the_next() {
    let Some(store) = store(0, "cancelled", 20).await else {
        return;
    };
    for round in 0..200 {
        let k = round % 20;
        let cut = Duration::from_micros((round % 7) as u64 * 10);
        let _ = tokio::time::timeout(cut, store.find_token(&by_user(k))).await;
        let next = (k + 1) % 20;
        let found = store.find_token(&by_user(next)).await.unwrap().unwrap();
        assert_eq!(
            found.user_name.as_deref(),
            Some(format!("u{next}").as_str()),
            "round {round}: the lookup read another lookup's reply"
        );
    }
    store.delete_tokens().await.unwrap();
}
