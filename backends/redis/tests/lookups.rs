//! A lookup by a field value is one `SORT_RO`; a server that refuses it gets the same lookup
//! from the script. Both must answer the same token: the lowest id in the server's string order
//! among several matches, every field as stored, absent fields absent, and nothing for a value
//! no token holds. The refusal is real: an ACL user whose key permissions cover only the store's
//! namespace, for which Redis denies `SORT ... GET`.
//!
//! Needs a Redis server: `TOKENSTORE_REDIS_URL`, else `redis://127.0.0.1:6379`. Without one the
//! test says so on stderr and passes, unless `TOKENSTORE_REQUIRE` names `redis`.

use tokenstore_core::{Field, Token, TokenStore};
use tokenstore_redis::RedisStore;

fn url() -> String {
    std::env::var("TOKENSTORE_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The tokens every lookup below runs against: ids "10" and "9" share an access token (so the
/// lowest id in string order, "10", is the one found), and one token has only some fields.
async fn populate(store: &RedisStore) {
    store.delete_tokens().await.unwrap();
    for (id, user, access) in [("9", "nine", "shared"), ("10", "ten", "shared")] {
        let mut t = Token::default()
            .with(Field::Id, id)
            .with(Field::UserName, user)
            .with(Field::AccessToken, access)
            .with(Field::RefreshToken, format!("r{id}"))
            .with(Field::ExpiryTime, "1700000000000");
        store.save_token(&mut t).await.unwrap();
    }
    let mut sparse = Token::default()
        .with(Field::UserName, "sparse é")
        .with(Field::GrantToken, "g:1->x*");
    store.save_token(&mut sparse).await.unwrap();
}

/// What the lookups answer, in a fixed order.
async fn answers(store: &RedisStore) -> Vec<Option<Token>> {
    let probes = [
        Token::default().with(Field::AccessToken, "shared"),
        Token::default().with(Field::UserName, "nine"),
        Token::default().with(Field::UserName, "sparse é"),
        Token::default().with(Field::UserName, "nobody"),
        Token::default()
            .with(Field::ClientId, "c")
            .with(Field::ClientSecret, "s")
            .with(Field::GrantToken, "g:1->x*"),
    ];
    let mut found = Vec::new();
    for probe in &probes {
        found.push(store.find_token(probe).await.unwrap());
    }
    found
}

#[tokio::test]
async fn sort_and_script_lookups_answer_the_same_tokens() {
    let namespace = format!("lookups{}", std::process::id());
    let Some(store) =
        tokenstore_suite::or_skip("redis", &url(), RedisStore::open(&url(), &namespace).await)
    else {
        return;
    };
    populate(&store).await;
    let sorted = answers(&store).await;
    let ids: Vec<Option<&str>> = sorted
        .iter()
        .map(|t| t.as_ref().and_then(|t| t.id.as_deref()))
        .collect();
    assert_eq!(ids[0], Some("10"), "the lowest id in string order");
    assert_eq!(ids[1], Some("9"));
    assert!(ids[2].is_some() && ids[4] == ids[2]);
    assert_eq!(ids[3], None);
    let sparse = sorted[2].as_ref().unwrap();
    assert_eq!(sparse.access_token, None);
    assert_eq!(sparse.grant_token.as_deref(), Some("g:1->x*"));
    assert_eq!(
        sorted[1].as_ref().unwrap().expiry_time.as_deref(),
        Some("1700000000000")
    );

    // A user who may read only this namespace's keys: Redis refuses it SORT with GET patterns.
    let admin = redis::Client::open(url()).unwrap();
    let mut admin = admin.get_multiplexed_async_connection().await.unwrap();
    let user = format!("tokenstore-lookups-{}", std::process::id());
    let keys = format!("~{}*", RedisStore::key_prefix(&namespace));
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg(&user)
        .arg("on")
        .arg("nopass")
        .arg(&keys)
        .arg("+@all")
        .query_async(&mut admin)
        .await
        .unwrap();
    let limited = url().replacen("redis://", &format!("redis://{user}:x@"), 1);
    let outcome = async {
        let mut conn = redis::Client::open(limited.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let refused = redis::cmd("SORT_RO")
            .arg(format!(
                "{}:i:user_name:nine",
                RedisStore::key_prefix(&namespace)
            ))
            .arg("GET")
            .arg(format!("{}:t:*->id", RedisStore::key_prefix(&namespace)))
            .query_async::<Vec<Option<String>>>(&mut conn)
            .await;
        let scripted = RedisStore::open(&limited, &namespace).await.unwrap();
        (refused, answers(&scripted).await)
    }
    .await;
    let _: i64 = redis::cmd("ACL")
        .arg("DELUSER")
        .arg(&user)
        .query_async(&mut admin)
        .await
        .unwrap();
    let (refused, scripted) = outcome;
    assert!(
        refused.is_err(),
        "Redis refuses SORT GET to {user}: {refused:?}"
    );
    assert_eq!(scripted, sorted, "the script answers as SORT_RO does");
    store.drop_namespace().await.unwrap();
}
