//! `get_tokens` reads the namespace's `:all` hash, which the write scripts keep beside each
//! token's hash. A namespace written by an earlier release has no `:all`: the first `get_tokens`
//! reads every hash, writes `:all` afresh, and answers the same tokens; values every store must
//! hold (quotes, backslashes, control characters, non-ASCII) come back exactly through the JSON.
//!
//! Needs a Redis server: `TOKENSTORE_REDIS_URL`, else `redis://127.0.0.1:6379`. Without one the
//! test says so on stderr and passes, unless `TOKENSTORE_REQUIRE` names `redis`.

use tokenstore_core::{Field, Token, TokenStore};
use tokenstore_redis::RedisStore;

fn url() -> String {
    std::env::var("TOKENSTORE_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

#[tokio::test]
async fn a_namespace_without_its_all_hash_is_read_in_full_and_the_hash_written_again() {
    let namespace = format!("allhash{}", std::process::id());
    let Some(store) =
        tokenstore_suite::or_skip("redis", &url(), RedisStore::open(&url(), &namespace).await)
    else {
        return;
    };
    store.delete_tokens().await.unwrap();
    let odd = "q\"uote \\ back\u{1}ctl é€𝄞 /slash\r\n";
    for (i, user) in ["alice", odd, "carol"].into_iter().enumerate() {
        let mut t = Token::default()
            .with(Field::UserName, user)
            .with(Field::RefreshToken, format!("r{i}"))
            .with(Field::ExpiryTime, "007");
        store.save_token(&mut t).await.unwrap();
    }
    let mut carol = Token::default().with(Field::UserName, "carol");
    let carol_id = store.find_token(&carol).await.unwrap().unwrap().id.unwrap();
    store.delete_token(&carol_id).await.unwrap();
    carol = Token::default()
        .with(Field::UserName, "alice")
        .with(Field::AccessToken, "a1");
    store.save_token(&mut carol).await.unwrap();

    let sorted = |mut all: Vec<Token>| {
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    };
    let before = sorted(store.get_tokens().await.unwrap());
    assert_eq!(before.len(), 2);
    assert!(before.iter().any(|t| t.user_name.as_deref() == Some(odd)));
    assert!(before.iter().any(
        |t| t.access_token.as_deref() == Some("a1") && t.refresh_token.as_deref() == Some("r0")
    ));
    for t in &before {
        assert_eq!(
            store
                .find_token_by_id(t.id.as_deref().unwrap())
                .await
                .unwrap(),
            *t
        );
    }

    // As an earlier release left it: no :all.
    let client = redis::Client::open(url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let all = format!("{}:all", RedisStore::key_prefix(&namespace));
    let removed: i64 = redis::cmd("DEL")
        .arg(&all)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(removed, 1, "get_tokens reads {all}");
    assert_eq!(sorted(store.get_tokens().await.unwrap()), before);
    let rebuilt: i64 = redis::cmd("HLEN")
        .arg(&all)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(rebuilt, 2, "the fallback writes {all} again");
    assert_eq!(sorted(store.get_tokens().await.unwrap()), before);
    store.drop_namespace().await.unwrap();
}
