//! A namespace holds what its tokens need and nothing more, however many times they were saved:
//! an SDK refreshes each user's token every hour, and each refresh brings a new access token,
//! so any key or member written per refresh and never removed grows without bound.
//! `delete_tokens` leaves only the id counter, and `drop_namespace` nothing.
//!
//! Needs a Redis server: `TOKENSTORE_REDIS_URL`, else `redis://127.0.0.1:6379`. Without one the
//! test says so on stderr and passes, unless `TOKENSTORE_REQUIRE` names `redis`.

use std::collections::BTreeMap;
use tokenstore_core::{Field, Token, TokenStore};
use tokenstore_redis::RedisStore;

fn url() -> String {
    std::env::var("TOKENSTORE_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Every key of `namespace` (its part after the prefix) and its size: members of a set, fields
/// of a hash, 1 for a string.
async fn footprint(namespace: &str) -> BTreeMap<String, usize> {
    let client = redis::Client::open(url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let prefix = RedisStore::key_prefix(namespace);
    let pattern = format!("{}*", prefix.replace('{', "\\{").replace('}', "\\}"));
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(&pattern)
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut sizes = BTreeMap::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        let size: usize = match kind.as_str() {
            "set" => redis::cmd("SCARD")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap(),
            "hash" => redis::cmd("HLEN")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap(),
            _ => 1,
        };
        sizes.insert(key[prefix.len()..].to_owned(), size);
    }
    sizes
}

#[tokio::test]
async fn refreshes_leave_a_namespace_no_larger_and_clearing_it_leaves_only_the_counter() {
    let namespace = format!("footprint{}", std::process::id());
    let Some(store) =
        tokenstore_suite::or_skip("redis", &url(), RedisStore::open(&url(), &namespace).await)
    else {
        return;
    };
    store.drop_namespace().await.unwrap();
    let mut token = Token::default()
        .with(Field::UserName, "alice@example.com")
        .with(Field::ClientId, "client")
        .with(Field::ClientSecret, "secret")
        .with(Field::RefreshToken, "1000.refresh")
        .with(Field::AccessToken, "1000.access.0")
        .with(Field::ExpiryTime, "1700000000000");
    store.save_token(&mut token).await.unwrap();
    let id = token.id.clone().unwrap();
    let before = footprint(&namespace).await;
    // The keys one token needs: its hash, its JSON in :all, the ids, the id counter, and one
    // index set for each of its three key values.
    assert_eq!(before.len(), 7, "{before:?}");
    for k in 1..=40 {
        // What the SDK saves after a refresh: the token it found, a new access token and expiry.
        token.access_token = Some(format!("1000.access.{k}"));
        token.expiry_time = Some(format!("{}", 1_700_000_000_000u64 + k * 3_600_000));
        store.save_token(&mut token).await.unwrap();
        assert_eq!(token.id.as_deref(), Some(id.as_str()));
    }
    let after = footprint(&namespace).await;
    assert_eq!(
        before
            .keys()
            .filter(|k| !k.contains(":access_token:"))
            .collect::<Vec<_>>(),
        after
            .keys()
            .filter(|k| !k.contains(":access_token:"))
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        after.get(":i:access_token:1000.access.40"),
        Some(&1),
        "{after:?}"
    );
    assert_eq!(
        before.values().sum::<usize>(),
        after.values().sum::<usize>(),
        "{after:?}"
    );
    let found = store
        .find_token(&Token::default().with(Field::AccessToken, "1000.access.40"))
        .await
        .unwrap();
    assert_eq!(found.and_then(|t| t.id), Some(id));

    store.delete_tokens().await.unwrap();
    assert_eq!(
        footprint(&namespace).await.into_keys().collect::<Vec<_>>(),
        [":seq"]
    );
    store.drop_namespace().await.unwrap();
    assert!(footprint(&namespace).await.is_empty());
}
